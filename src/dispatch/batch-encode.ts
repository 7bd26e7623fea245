import type { BatchFormat } from '../config/settings.js';
import { RecordFormatError } from '../errors.js';
import type { OutboundRequest, SinkResponse } from '../sink/sender.js';
import type { KafkaRecord } from '../source/record.js';
import { encodeCloudEvent, type CloudEventContext } from './cloudevents.js';

/**
 * Micro-batching's wire formats (README, "Micro-batching"): how the records of a batch become one request
 * body, and how the sink's answer maps back to one result per record. Pure: no I/O.
 */
export interface BatchCodec {
  format: BatchFormat;
  /** CloudEvent attributes, for `cloudevents-batch`. */
  ceContext: CloudEventContext;
  /** `oip-v2`: the input tensor's name and datatype. */
  oipInput: string;
  oipDatatype: string;
  /** An item that is an object with this field set (not null) failed; '' = items never fail. */
  itemErrorField: string;
}

export const CLOUDEVENTS_BATCH = 'application/cloudevents-batch+json';

/**
 * One record as an item of the batch: its value parsed as JSON, or (`cloudevents-batch`) its
 * CloudEvent in structured form. Throws RecordFormatError for a value that is no JSON: it is
 * dead-lettered alone and never reaches a batch.
 */
export function batchItem(record: KafkaRecord, codec: BatchCodec): unknown {
  if (codec.format === 'cloudevents-batch') return structuredEvent(record, codec.ceContext);
  if (record.value === null) throw new RecordFormatError('a record without a value cannot be an item of a batch');
  try {
    return JSON.parse(record.value.toString('utf8')) as unknown;
  } catch (error) {
    throw new RecordFormatError(`the record value is no JSON, which a ${codec.format} batch needs`, { cause: error });
  }
}

/** The request of a batch of items, in record order. */
export function encodeBatch(items: readonly unknown[], codec: BatchCodec): OutboundRequest {
  switch (codec.format) {
    case 'json-array':
      return json(items);
    case 'kserve-v1':
      return json({ instances: items });
    case 'oip-v2':
      return json({ inputs: [oipTensor(items, codec)] });
    case 'cloudevents-batch':
      return { headers: { 'content-type': CLOUDEVENTS_BATCH }, body: Buffer.from(JSON.stringify(items)) };
  }
}

/**
 * The sink's answer as one result per item, or undefined when it does not map (not JSON, or not
 * `count` results): a JSON array; KServe v1 `predictions`; OIP v2 `outputs`, where item i is row i
 * of the first output tensor (its `data` has `count` values, or `shape[0]` is `count` and each row
 * is `data.length / count` values); a CloudEvents batch array.
 */
export function mapBatchResponse(response: SinkResponse, count: number, codec: BatchCodec): unknown[] | undefined {
  if (response.body.length === 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body.toString('utf8'));
  } catch {
    return undefined;
  }
  const list = resultList(parsed, count, codec.format);
  return list !== undefined && list.length === count ? list : undefined;
}

/** The error an item carries under the convention, or undefined when it succeeded. */
export function itemError(item: unknown, codec: BatchCodec): string | undefined {
  if (codec.itemErrorField === '' || typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
  const error = (item as Record<string, unknown>)[codec.itemErrorField];
  if (error === undefined || error === null) return undefined;
  return typeof error === 'string' ? error : JSON.stringify(error);
}

/** An approximate size of a record in a batch body: what BATCH_MAX_BYTES counts. */
export function recordBytes(record: KafkaRecord): number {
  return record.value?.length ?? 0;
}

function resultList(parsed: unknown, count: number, format: BatchFormat): unknown[] | undefined {
  if (Array.isArray(parsed)) return parsed;
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const body = parsed as Record<string, unknown>;
  if (format === 'kserve-v1' || Array.isArray(body['predictions'])) {
    return Array.isArray(body['predictions']) ? (body['predictions'] as unknown[]) : undefined;
  }
  if (Array.isArray(body['outputs'])) return oipRows(body['outputs'][0], count);
  return undefined;
}

function oipRows(output: unknown, count: number): unknown[] | undefined {
  if (typeof output !== 'object' || output === null) return undefined;
  const { data, shape } = output as { data?: unknown; shape?: unknown };
  if (!Array.isArray(data)) return undefined;
  if (data.length === count) return data;
  const rows = Array.isArray(shape) && typeof shape[0] === 'number' ? shape[0] : undefined;
  if (rows !== count || count === 0 || data.length % count !== 0) return undefined;
  const width = data.length / count;
  return Array.from({ length: count }, (_, i) => data.slice(i * width, (i + 1) * width));
}

/** OIP v2's one input tensor: shape [records, ...the first value's dimensions], data flattened row-major. */
function oipTensor(items: readonly unknown[], codec: BatchCodec): Record<string, unknown> {
  const inner = dimensions(items[0]);
  const data = items.flatMap((item) => (Array.isArray(item) ? (item as unknown[]).flat(Infinity) : [item]));
  return { name: codec.oipInput, shape: [items.length, ...inner], datatype: codec.oipDatatype, data };
}

function dimensions(value: unknown): number[] {
  const dims: number[] = [];
  let current = value;
  while (Array.isArray(current)) {
    dims.push(current.length);
    current = current[0];
  }
  return dims;
}

function json(body: unknown): OutboundRequest {
  return { headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) };
}

/**
 * The record's CloudEvent (the binary-mode mapping the single-record path sends) in structured form:
 * the ce- headers as attributes, JSON data as `data`, anything else as `data_base64`.
 */
function structuredEvent(record: KafkaRecord, context: CloudEventContext): Record<string, unknown> {
  const request = encodeCloudEvent(record, context);
  const contentType = request.headers['content-type'];
  if (contentType?.startsWith('application/cloudevents+json') && request.body) {
    return JSON.parse(request.body.toString('utf8')) as Record<string, unknown>;
  }
  const event: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.startsWith('ce-')) event[name.slice(3)] = percentDecode(value);
  }
  if (contentType !== undefined) event['datacontenttype'] = contentType;
  if (request.body !== null) {
    const data = contentType === undefined || /[/+]json(;|$)/.test(contentType) ? tryJson(request.body) : undefined;
    if (data !== undefined) event['data'] = data;
    else event['data_base64'] = request.body.toString('base64');
  }
  return event;
}

function tryJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function percentDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
