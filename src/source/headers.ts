import type { KafkaRecord } from './record.js';

/**
 * Kafka header lookup, one rule everywhere: names match case-insensitively and, when a header is
 * repeated, the last value wins — Kafka's `Headers.lastHeader`, and what the CloudEvents Kafka
 * binding does. kafkajs hands a repeated header over as an array of its values, in record order.
 */

export type KafkaHeaders = KafkaRecord['headers'];
export type KafkaHeaderValue = KafkaHeaders[string];

/** The last value of one header entry; null and undefined entries are skipped. */
export function lastValue(raw: KafkaHeaderValue | null): Buffer | string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) return raw;
  for (let i = raw.length - 1; i >= 0; i--) {
    const value = raw[i];
    if (value !== undefined && value !== null) return value;
  }
  return undefined;
}

/** `lastValue` as UTF-8 text. */
export function lastText(raw: KafkaHeaderValue | null): string | undefined {
  const value = lastValue(raw);
  return value === undefined || typeof value === 'string' ? value : value.toString('utf8');
}

/** The value of header `name` (given in lower case), or undefined when the record has none. */
export function lastHeader(headers: KafkaHeaders, name: string): Buffer | string | undefined {
  let found: Buffer | string | undefined;
  for (const key in headers) {
    if (key.length !== name.length || key.toLowerCase() !== name) continue;
    const value = lastValue(headers[key]);
    if (value !== undefined) found = value;
  }
  return found;
}

/** `lastHeader` as UTF-8 text. */
export function headerText(headers: KafkaHeaders, name: string): string | undefined {
  const value = lastHeader(headers, name);
  return value === undefined || typeof value === 'string' ? value : value.toString('utf8');
}

/** One value per header name, the last of repeats: the headers of a record produced onwards. */
export function flattenHeaders(headers: KafkaHeaders): Record<string, string | Buffer> {
  const out: Record<string, string | Buffer> = {};
  for (const name in headers) {
    const value = lastValue(headers[name]);
    // Defined, not assigned: a header named __proto__ stays a header, not out's prototype.
    if (value !== undefined) Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
