import type { KafkaRecord } from '../source/record.js';
import type { OutboundRequest } from '../sink/sender.js';

/** `raw` format: the record value as the body; its content-type header when it has one. */
export function encodeRaw(record: KafkaRecord): OutboundRequest {
  const headers: Record<string, string> = {};
  const contentType = headerValue(record, 'content-type');
  headers['content-type'] = contentType ?? 'application/octet-stream';
  return { headers, body: record.value };
}

/** A Kafka header's value; with repeated headers the last one wins, as Kafka's `lastHeader` and the CloudEvents mapping do. */
export function headerValue(record: KafkaRecord, name: string): string | undefined {
  for (const [key, value] of Object.entries(record.headers)) {
    if (key.toLowerCase() !== name || value === undefined) continue;
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    return last === undefined ? undefined : last.toString();
  }
  return undefined;
}
