import type { OutboundRequest } from '../sink/sender.js';
import { headerText } from '../source/headers.js';
import { sanitizeContentType } from './cloudevents.js';
import type { KafkaRecord } from '../source/record.js';

/** `raw` format: the record value as the body; its content-type header when it has one. */
export function encodeRaw(record: KafkaRecord): OutboundRequest {
  const headers: Record<string, string> = {};
  const contentType = headerText(record.headers, 'content-type');
  // A producer's CR or LF must not split the request: the same cleaning as the CloudEvent mapping's.
  const safe = contentType === undefined ? '' : sanitizeContentType(contentType);
  headers['content-type'] = safe === '' ? 'application/octet-stream' : safe;
  return { headers, body: record.value };
}
