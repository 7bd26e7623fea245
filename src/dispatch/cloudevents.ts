/**
 * CloudEvents mapping of Kafka records, as Knative KafkaSource (eventing-kafka-broker) does it.
 * Pure: no I/O. Every event leaves in HTTP binary content mode.
 *
 * - A plain record becomes an event with Knative's attributes (README.md, "What goes on the
 *   wire"): id `partition:<p>/offset:<o>`, source `/apis/v1/namespaces/<ns>/kafkasources/<name>#<topic>`, type
 *   `dev.knative.kafka.event`, subject `partition:<p>#<o>`, time, key/partitionkey, one
 *   `kafkaheader<name>` per Kafka header; body = the record value; content-type = the record's
 *   `content-type` header, lowercased (omitted when the record has none).
 * - A record that already is a CloudEvent (Kafka binary mode: `ce_specversion` header; or structured
 *   mode: `content-type: application/cloudevents+json`) passes through with its own attributes and
 *   data.
 * - Every event gets `ce-knativekafkapartition` and `ce-knativekafkaoffset`, and the ceOverrides
 *   extensions of the context.
 *
 * Header values are made safe for HTTP: `ce-*` values are percent-encoded as the CloudEvents HTTP
 * binding asks (§3.1.3.2: space, `"`, `%` and everything outside U+0021..U+007E become `%XX` of its
 * UTF-8 bytes), so a Kafka header holding CR, LF, NUL or non-ASCII text never breaks a request. The
 * `content-type` value, which is not percent-encoded by the binding, loses its control and non-ASCII
 * characters instead.
 */
import { RecordFormatError } from '../errors.js';
import { headerText, lastText } from '../source/headers.js';
import type { KafkaRecord } from '../source/record.js';
import type { OutboundRequest } from '../sink/sender.js';
import type { KeyType } from '../config/settings.js';

export type { KeyType } from '../config/settings.js';

export interface CloudEventContext {
  /** Namespace of the KafkaSource: the `ce-source` is built with `ceSource(namespace, name, topic)`. */
  namespace: string;
  /** Name of the KafkaSource. */
  name: string;
  /** How the record key is decoded into `ce-key` / `ce-partitionkey`. */
  keyType: KeyType;
  /** ceOverrides.extensions (and K_CE_OVERRIDES): extra `ce-<name>` headers on every event. */
  extensions: Record<string, string>;
}

export const KNATIVE_KAFKA_EVENT_TYPE = 'dev.knative.kafka.event';

/** CloudEvents context attributes that ceOverrides extensions may not replace. */
const CORE_ATTRIBUTES = new Set(['specversion', 'id', 'source', 'type', 'subject', 'time', 'dataschema', 'datacontenttype']);
const REQUIRED_ATTRIBUTES = ['specversion', 'id', 'source', 'type'] as const;
const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json';

export function ceSource(namespace: string, name: string, topic: string): string {
  return `/apis/v1/namespaces/${namespace}/kafkasources/${name}#${topic}`;
}

/**
 * The record key as text, per the KafkaSource key type:
 * - `string`: UTF-8 (invalid sequences become U+FFFD);
 * - `int`: 4 bytes, big-endian signed (Java's IntegerDeserializer); any other length → as `string`;
 * - `float`: 4 bytes → float32, 8 bytes → float64, big-endian, printed as Java's Float/Double.toString
 *   prints them (shortest round-trip digits: `1.5`, `42.0`, `1.0E10`, `NaN`); any other length →
 *   as `string`;
 * - `byte-array`: standard base64.
 */
export function decodeKey(key: Buffer, keyType: KeyType): string {
  switch (keyType) {
    case 'int':
      return key.length === 4 ? String(key.readInt32BE(0)) : key.toString('utf8');
    case 'float':
      if (key.length === 4) return javaFloatToString(key.readFloatBE(0), true);
      if (key.length === 8) return javaFloatToString(key.readDoubleBE(0), false);
      return key.toString('utf8');
    case 'byte-array':
      return key.toString('base64');
    case 'string':
    default:
      return key.toString('utf8');
  }
}

/** True when the record already is a CloudEvent, in Kafka binary or structured content mode. */
export function isCloudEventRecord(record: KafkaRecord): boolean {
  return isStructured(record) || headerText(record.headers, 'ce_specversion') !== undefined;
}

/**
 * The HTTP request (binary content mode) for one record. Throws RecordFormatError when the record
 * claims to be a CloudEvent but is not a valid one.
 */
export function encodeCloudEvent(record: KafkaRecord, context: CloudEventContext): OutboundRequest {
  let attributes: Map<string, string>;
  let contentType: string | undefined;
  let body: Buffer | null;
  if (isStructured(record)) {
    ({ attributes, contentType, body } = fromStructured(record));
  } else if (headerText(record.headers, 'ce_specversion') !== undefined) {
    ({ attributes, contentType, body } = fromBinary(record));
  } else {
    return encodePlain(record, context);
  }

  for (const [rawName, value] of Object.entries(context.extensions)) {
    const name = attributeName(rawName);
    if (name === '' || CORE_ATTRIBUTES.has(name)) continue;
    attributes.set(name, value);
  }
  attributes.set('knativekafkapartition', String(record.partition));
  attributes.set('knativekafkaoffset', String(record.offset));

  const headers: Record<string, string> = {};
  for (const [name, value] of attributes) {
    headers[`ce-${name}`] = percentEncode(value);
  }
  if (contentType !== undefined) {
    const safe = sanitizeContentType(contentType);
    if (safe !== '') headers['content-type'] = safe;
  }
  return { headers, body };
}

interface Mapped {
  attributes: Map<string, string>;
  contentType: string | undefined;
  body: Buffer | null;
}

/** Kafka binary content mode: `ce_<attribute>` headers, `content-type`, the value as data. */
function fromBinary(record: KafkaRecord): Mapped {
  const attributes = new Map<string, string>();
  let contentType: string | undefined;
  let dataContentType: string | undefined;
  for (const [headerName, raw] of Object.entries(record.headers)) {
    const value = lastText(raw);
    if (value === undefined) continue;
    const lower = headerName.toLowerCase();
    if (lower === 'content-type') {
      contentType = value;
      continue;
    }
    if (!lower.startsWith('ce_')) continue;
    const name = attributeName(lower.slice(3));
    if (name === '') continue;
    if (name === 'datacontenttype') {
      dataContentType = value;
      continue;
    }
    attributes.set(name, value);
  }
  checkRequired(attributes, record, 'Kafka header ce_');
  return { attributes, contentType: contentType ?? dataContentType, body: record.value };
}

/** Structured content mode: the value is a JSON CloudEvent (application/cloudevents+json). */
function fromStructured(record: KafkaRecord): Mapped {
  const where = describe(record);
  if (record.value === null || record.value.length === 0) {
    throw new RecordFormatError(`structured CloudEvent at ${where} has an empty value`);
  }
  let event: unknown;
  try {
    event = JSON.parse(record.value.toString('utf8'));
  } catch (error) {
    throw new RecordFormatError(`structured CloudEvent at ${where} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new RecordFormatError(`structured CloudEvent at ${where} is not a JSON object`);
  }
  const members = event as Record<string, unknown>;
  const attributes = new Map<string, string>();
  let dataContentType: string | undefined;
  for (const [member, value] of Object.entries(members)) {
    if (member === 'data' || member === 'data_base64') continue;
    if (value === null || value === undefined) continue;
    if (typeof value === 'object') {
      throw new RecordFormatError(
        `structured CloudEvent at ${where}: attribute "${member}" must be a string, number or boolean, got ${Array.isArray(value) ? 'an array' : 'an object'}`,
      );
    }
    const text = String(value);
    const name = attributeName(member);
    if (name === '') continue;
    if (name === 'datacontenttype') {
      dataContentType = text;
      continue;
    }
    attributes.set(name, text);
  }
  checkRequired(attributes, record, 'attribute ');

  const hasData = 'data' in members && members.data !== undefined;
  const hasBase64 = 'data_base64' in members && members.data_base64 !== undefined && members.data_base64 !== null;
  if (hasData && hasBase64) {
    throw new RecordFormatError(`structured CloudEvent at ${where} has both "data" and "data_base64"`);
  }
  if (hasBase64) {
    if (typeof members.data_base64 !== 'string') {
      throw new RecordFormatError(`structured CloudEvent at ${where}: "data_base64" must be a string`);
    }
    return { attributes, contentType: dataContentType, body: Buffer.from(members.data_base64, 'base64') };
  }
  if (hasData) {
    const data = members.data;
    if (typeof data === 'string' && dataContentType !== undefined && !isJsonMediaType(dataContentType)) {
      // The JSON format carries non-JSON text data as a JSON string: send the text itself.
      return { attributes, contentType: dataContentType, body: Buffer.from(data, 'utf8') };
    }
    return { attributes, contentType: dataContentType ?? 'application/json', body: Buffer.from(JSON.stringify(data), 'utf8') };
  }
  return { attributes, contentType: dataContentType, body: null };
}

function checkRequired(attributes: Map<string, string>, record: KafkaRecord, prefix: string): void {
  const where = describe(record);
  const missing = REQUIRED_ATTRIBUTES.filter((name) => !attributes.get(name));
  if (missing.length > 0) {
    throw new RecordFormatError(`CloudEvent at ${where} is missing required ${missing.map((name) => `${prefix}${name}`).join(', ')}`);
  }
  const specversion = attributes.get('specversion');
  if (specversion !== '1.0') {
    throw new RecordFormatError(`CloudEvent at ${where} has specversion "${specversion}", only "1.0" is supported`);
  }
}

function isStructured(record: KafkaRecord): boolean {
  const contentType = headerText(record.headers, 'content-type');
  return contentType !== undefined && contentType.trim().toLowerCase().startsWith(STRUCTURED_CONTENT_TYPE);
}

function isJsonMediaType(mediaType: string): boolean {
  const essence = (mediaType.split(';')[0] ?? '').trim().toLowerCase();
  return essence === 'application/json' || essence === 'text/json' || essence.endsWith('+json');
}

/** CloudEvents attribute names are `[a-z0-9]`: lowercase, drop everything else. */
function attributeName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * The common case, a record that is not a CloudEvent, written straight into the headers: the same
 * result as mapping attributes and encoding them, without the intermediate map, and with the values
 * that are safe by construction (ids, subjects, times, partitions) not scanned for encoding.
 */
function encodePlain(record: KafkaRecord, context: CloudEventContext): OutboundRequest {
  const { partition, offset } = record;
  const headers: Record<string, string> = {
    'ce-specversion': '1.0',
    'ce-id': `partition:${partition}/offset:${offset}`,
    'ce-source': encodedSource(context, record.topic),
    'ce-type': KNATIVE_KAFKA_EVENT_TYPE,
    'ce-subject': `partition:${partition}#${offset}`,
  };
  const time = isoTime(record.timestamp);
  if (time !== undefined) headers['ce-time'] = time;
  if (record.key !== null) {
    const key = percentEncode(decodeKey(record.key, context.keyType));
    headers['ce-key'] = key;
    headers['ce-partitionkey'] = key;
  }
  let contentType: string | undefined;
  for (const name in record.headers) {
    const value = lastText(record.headers[name]);
    if (value === undefined) continue;
    if (name.toLowerCase() === 'content-type') {
      contentType = value.toLowerCase();
      continue;
    }
    headers[`ce-kafkaheader${attributeName(name)}`] = percentEncode(value);
  }
  for (const [name, value] of encodedExtensions(context)) headers[name] = value;
  headers['ce-knativekafkapartition'] = String(partition);
  headers['ce-knativekafkaoffset'] = String(offset);
  if (contentType !== undefined) {
    const safe = sanitizeContentType(contentType);
    if (safe !== '') headers['content-type'] = safe;
  }
  return { headers, body: record.value };
}

const sourceCache = new WeakMap<CloudEventContext, Map<string, string>>();
const extensionCache = new WeakMap<CloudEventContext, Array<[string, string]>>();

function encodedSource(context: CloudEventContext, topic: string): string {
  let byTopic = sourceCache.get(context);
  if (!byTopic) sourceCache.set(context, (byTopic = new Map()));
  let source = byTopic.get(topic);
  if (source === undefined) byTopic.set(topic, (source = percentEncode(ceSource(context.namespace, context.name, topic))));
  return source;
}

function encodedExtensions(context: CloudEventContext): Array<[string, string]> {
  let entries = extensionCache.get(context);
  if (!entries) {
    entries = [];
    for (const [rawName, value] of Object.entries(context.extensions)) {
      const name = attributeName(rawName);
      if (name === '' || CORE_ATTRIBUTES.has(name)) continue;
      entries.push([`ce-${name}`, percentEncode(value)]);
    }
    extensionCache.set(context, entries);
  }
  return entries;
}

/** The last millisecond a Date can hold. */
const MAX_DATE_MS = 8.64e15;
let lastTimestamp = Number.NaN;
let lastIso: string | undefined;
/** The ISO text up to the `.` of the seconds seen lately, by the second's first millisecond. */
const secondPrefixes = new Map<number, string>();
/** Batches of several partitions interleave a few seconds; a backlog moves on through them. */
const SECONDS_KEPT = 64;

function isoTime(timestamp: number): string | undefined {
  // Records of one batch often share a millisecond, and nearly always a second: only the
  // milliseconds change (toISOString is a sizeable part of a record's cost).
  if (timestamp === lastTimestamp) return lastIso;
  lastTimestamp = timestamp;
  if (!Number.isInteger(timestamp) || timestamp < 0 || timestamp > MAX_DATE_MS) return (lastIso = isoTimeUncached(timestamp));
  const millis = timestamp % 1000;
  const second = timestamp - millis;
  let prefix = secondPrefixes.get(second);
  if (prefix === undefined) {
    const iso = isoTimeUncached(timestamp);
    if (iso === undefined) return (lastIso = iso);
    if (secondPrefixes.size >= SECONDS_KEPT) secondPrefixes.clear();
    secondPrefixes.set(second, (prefix = iso.slice(0, iso.length - 4)));
  }
  lastIso = `${prefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
  return lastIso;
}

/** UTC ISO-8601 with milliseconds; none for a missing (negative) or out-of-range timestamp. */
function isoTimeUncached(timestamp: number): string | undefined {
  if (!Number.isFinite(timestamp) || timestamp < 0) return undefined;
  const date = new Date(timestamp);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/**
 * CloudEvents HTTP binding §3.1.3.2: in `ce-*` values, space, `"`, `%` and every character outside
 * printable ASCII (U+0021..U+007E) become `%XX` per UTF-8 byte (upper-case hex). Plain printable
 * ASCII stays as it is. A lone surrogate is encoded as U+FFFD.
 */
export function percentEncode(value: string): string {
  if (/^[\x21\x23\x24\x26-\x7e]*$/.test(value)) return value;
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (code >= 0x21 && code <= 0x7e && code !== 0x22 && code !== 0x25) {
      out += char;
      continue;
    }
    for (const byte of Buffer.from(char, 'utf8')) {
      out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}

/** content-type is not percent-encoded: drop control and non-ASCII characters (keep tab), trim. */
export function sanitizeContentType(value: string): string {
  return value.replace(/[^\t\x20-\x7e]/g, '').trim();
}

function describe(record: KafkaRecord): string {
  return `${record.topic}/${record.partition}@${record.offset}`;
}

/**
 * Java's Float.toString / Double.toString layout, with the shortest digits that read back to the
 * same float32 (`single`) or float64: `1.5`, `42.0`, `-0.0`, `1.0E7`, `1.0E-4`, `NaN`, `Infinity`.
 * Plain notation for 10^-3 <= |v| < 10^7, computerized scientific notation otherwise.
 */
export function javaFloatToString(value: number, single: boolean): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const sign = value < 0 ? '-' : '';
  const magnitude = Math.abs(value);
  let exponential = magnitude.toExponential(); // shortest round-trip digits for a float64
  if (single) {
    for (let precision = 1; precision <= 9; precision++) {
      const candidate = magnitude.toExponential(precision - 1);
      if (Math.fround(Number(candidate)) === magnitude) {
        exponential = candidate;
        break;
      }
    }
  }
  const [mantissa = '', exponentText = '0'] = exponential.split('e');
  const exponent = Number(exponentText);
  let digits = mantissa.replace('.', '').replace(/0+$/, '');
  if (digits === '') digits = '0';
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    if (exponent >= 0) {
      const padded = digits.padEnd(exponent + 1, '0');
      const integer = padded.slice(0, exponent + 1);
      const fraction = padded.slice(exponent + 1);
      return `${sign}${integer}.${fraction === '' ? '0' : fraction}`;
    }
    return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  }
  return `${sign}${digits[0]}.${digits.length > 1 ? digits.slice(1) : '0'}E${exponent}`;
}
