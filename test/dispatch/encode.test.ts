import { describe, expect, it } from 'vitest';
import { encodeRaw } from '../../src/dispatch/encode.js';
import type { KafkaRecord } from '../../src/source/record.js';

const record = (headers: KafkaRecord['headers'], value: Buffer | null = Buffer.from('{"q":"music"}')): KafkaRecord => ({
  topic: 't',
  partition: 0,
  offset: 7,
  key: Buffer.from('k'),
  value,
  headers,
  timestamp: 0,
});

describe('raw format', () => {
  it.each([
    ['no content-type header', {}, 'application/octet-stream'],
    ['the record content-type', { 'Content-Type': Buffer.from('application/json') }, 'application/json'],
    [
      'the last of repeated content-types',
      { 'content-type': [Buffer.from('text/plain'), Buffer.from('application/json')] },
      'application/json',
    ],
  ])('%s → content-type %s', (_label, headers, expected) => {
    expect(encodeRaw(record(headers))).toEqual({ headers: { 'content-type': expected }, body: Buffer.from('{"q":"music"}') });
  });

  it('sends the value unchanged and no CloudEvents headers', () => {
    const request = encodeRaw(record({ trace: 'x' }, Buffer.from([0, 1, 2, 255])));
    expect(request.body).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(Object.keys(request.headers)).toEqual(['content-type']);
  });
});
