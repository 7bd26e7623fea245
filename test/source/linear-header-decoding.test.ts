import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { installLinearHeaderDecoding } from '../../src/source/linear-header-decoding.js';

// The kafkajs seam the linear header decoding replaces, and the records it decodes: the same
// records kafkajs's own encoder writes, headers repeated, named like Object's own properties.

const require = createRequire(import.meta.url);

interface Encoder {
  buffer: Buffer;
}
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => { readVarInt(): number };
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (record: {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
}) => Encoder;

function roundTrip(headers: Record<string, Buffer | Buffer[]>) {
  const decodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js') as (
    decoder: unknown,
    context: object,
  ) => { headers: Record<string, unknown>; offset: string; timestamp: string; key: Buffer; value: Buffer };
  const encoded = encodeRecord({ offsetDelta: 3, timestampDelta: 5, key: Buffer.from('k'), value: Buffer.from('v'), headers }).buffer;
  const decoder = new Decoder(encoded);
  decoder.readVarInt(); // the record's length, read by the batch decoder in kafkajs
  return decodeRecord(decoder, { firstOffset: '10', firstTimestamp: '1000' });
}

describe('linear header decoding', () => {
  it('replaces kafkajs 2.x record decoder before kafkajs loads it', () => {
    expect(installLinearHeaderDecoding()).toBe('installed');
    const path = require.resolve('kafkajs/src/protocol/recordBatch/record/v0/decoder.js');
    const exports = require.cache[path]?.exports as Record<symbol, unknown>;
    expect(exports[Symbol.for('kafka-dispatch.linearHeaderDecoding')]).toBe(true);
    // Asked again (another copy of the module, a second client), it knows its own replacement.
    expect(installLinearHeaderDecoding()).toBe('installed');
  });

  it('decodes a record as kafkajs does: offset, timestamp, key, value, repeated headers as arrays in order', () => {
    installLinearHeaderDecoding();
    const record = roundTrip({ a: Buffer.from('1'), b: [Buffer.from('x'), Buffer.from('y'), Buffer.from('z')] });
    expect(record.offset).toBe('13');
    expect(record.timestamp).toBe('1005');
    expect(record.key.toString()).toBe('k');
    expect(record.value.toString()).toBe('v');
    expect(Object.keys(record.headers)).toEqual(['a', 'b']);
    expect(String(record.headers.a)).toBe('1');
    expect((record.headers.b as Buffer[]).map(String)).toEqual(['x', 'y', 'z']);
  });

  it("keeps headers named like Object properties as the record's own values, the prototype untouched", () => {
    installLinearHeaderDecoding();
    const record = roundTrip({ toString: Buffer.from('t'), constructor: Buffer.from('c'), ['__proto__']: Buffer.from('p') });
    expect(String(record.headers.toString)).toBe('t');
    expect(String(record.headers.constructor)).toBe('c');
    expect(Object.getPrototypeOf(record.headers)).toBe(Object.prototype);
    expect(Object.keys(record.headers).sort()).toEqual(['__proto__', 'constructor', 'toString']);
  });

  it('decodes 8,000 headers, each under its own name', () => {
    installLinearHeaderDecoding();
    const headers = Object.fromEntries(Array.from({ length: 8000 }, (_, i) => [`h${i}`, Buffer.from(`v${i}`)]));
    const record = roundTrip(headers);
    expect(Object.keys(record.headers)).toHaveLength(8000);
    expect(String(record.headers.h7999)).toBe('v7999');
  });
});
