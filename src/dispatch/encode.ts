import type { OutboundRequest } from '../sink/sender.js';
import { headerText } from '../source/headers.js';
import type { KafkaRecord } from '../source/record.js';

/** `raw` format: the record value as the body; its content-type header when it has one. */
export function encodeRaw(record: KafkaRecord): OutboundRequest {
  const headers: Record<string, string> = {};
  const contentType = headerText(record.headers, 'content-type');
  headers['content-type'] = contentType ?? 'application/octet-stream';
  return { headers, body: record.value };
}
