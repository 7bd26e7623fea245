import type { KafkaRecord } from '../../src/source/record.js';

/** A record for unit tests: value `v<offset>`, no headers, a fixed timestamp. */
export function rec(topic: string, partition: number, offset: number, key?: string | null): KafkaRecord {
  return {
    topic,
    partition,
    offset,
    key: key == null ? null : Buffer.from(key),
    value: Buffer.from(`v${offset}`),
    headers: {},
    timestamp: 1_700_000_000_000,
  };
}
