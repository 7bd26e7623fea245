import { describe, it, expect } from 'vitest';
import {
  ceSource,
  decodeKey,
  encodeCloudEvent,
  isCloudEventRecord,
  javaFloatToString,
  percentEncode,
  type CloudEventContext,
} from '../../src/dispatch/cloudevents.js';
import { RecordFormatError } from '../../src/errors.js';
import type { KafkaRecord } from '../../src/source/record.js';

// Every expected header below is written by hand from the table in DESIGN.md §1.

const context: CloudEventContext = { namespace: 'default', name: 'test-ai-source', keyType: 'string', extensions: {} };

/** 2024-03-01T12:34:56.789Z */
const TS = Date.UTC(2024, 2, 1, 12, 34, 56, 789);

function record(overrides: Partial<KafkaRecord> = {}): KafkaRecord {
  return {
    topic: 'orders',
    partition: 3,
    offset: 1234,
    key: null,
    value: Buffer.from('{"hello":"world"}'),
    headers: {},
    timestamp: TS,
    ...overrides,
  };
}

/** The attributes every plain record from topic `orders`, partition 3, offset 1234 gets. */
const base = {
  'ce-specversion': '1.0',
  'ce-id': 'partition:3/offset:1234',
  'ce-source': '/apis/v1/namespaces/default/kafkasources/test-ai-source#orders',
  'ce-type': 'dev.knative.kafka.event',
  'ce-subject': 'partition:3#1234',
  'ce-time': '2024-03-01T12:34:56.789Z',
  'ce-knativekafkapartition': '3',
  'ce-knativekafkaoffset': '1234',
};

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

describe('ceSource', () => {
  it('builds the KafkaSource source with the topic after #', () => {
    expect(ceSource('default', 'test-ai-source', 'orders')).toBe('/apis/v1/namespaces/default/kafkasources/test-ai-source#orders');
  });
});

describe('encodeCloudEvent: plain records', () => {
  it('(a) string key → ce-key and ce-partitionkey, body unchanged', () => {
    const value = Buffer.from('{"hello":"world"}');
    const request = encodeCloudEvent(record({ key: Buffer.from('customer-7'), value }), context);
    expect(request.headers).toEqual({ ...base, 'ce-key': 'customer-7', 'ce-partitionkey': 'customer-7' });
    expect(request.body).toBe(value);
  });

  it('(b) int key: 4 bytes big-endian signed', () => {
    const ctx = { ...context, keyType: 'int' as const };
    expect(encodeCloudEvent(record({ key: Buffer.from([0x00, 0x00, 0x00, 0x2a]) }), ctx).headers).toEqual({
      ...base,
      'ce-key': '42',
      'ce-partitionkey': '42',
    });
    expect(encodeCloudEvent(record({ key: Buffer.from([0xff, 0xff, 0xff, 0xfe]) }), ctx).headers).toEqual({
      ...base,
      'ce-key': '-2',
      'ce-partitionkey': '-2',
    });
  });

  it('(c) null key → no ce-key, no ce-partitionkey', () => {
    expect(encodeCloudEvent(record({ key: null }), { ...context, keyType: 'int' }).headers).toEqual(base);
  });

  it('(d) Kafka headers → ce-kafkaheader<name>; content-type lowercased and not repeated', () => {
    const request = encodeCloudEvent(
      record({
        headers: {
          'Content-Type': Buffer.from('Application/JSON'),
          'X-Request_ID.v2': Buffer.from('req-1'),
          traceparent: '00-abc-def-01',
          Multi: [Buffer.from('first'), Buffer.from('last')],
        },
      }),
      context,
    );
    expect(request.headers).toEqual({
      ...base,
      'content-type': 'application/json',
      'ce-kafkaheaderxrequestidv2': 'req-1',
      'ce-kafkaheadertraceparent': '00-abc-def-01',
      'ce-kafkaheadermulti': 'last',
    });
  });

  it('no content-type Kafka header → no content-type', () => {
    expect(encodeCloudEvent(record(), context).headers['content-type']).toBeUndefined();
  });

  it('null value → null body', () => {
    expect(encodeCloudEvent(record({ value: null }), context).body).toBeNull();
  });

  it('(e) float key: 4 bytes → float32, 8 bytes → float64, Java layout', () => {
    const ctx = { ...context, keyType: 'float' as const };
    const f32 = Buffer.alloc(4);
    f32.writeFloatBE(1.5);
    expect(encodeCloudEvent(record({ key: f32 }), ctx).headers).toEqual({ ...base, 'ce-key': '1.5', 'ce-partitionkey': '1.5' });
    const f32b = Buffer.alloc(4);
    f32b.writeFloatBE(0.1); // stored as 0.100000001490116…; shortest float32 form is 0.1
    expect(encodeCloudEvent(record({ key: f32b }), ctx).headers).toEqual({ ...base, 'ce-key': '0.1', 'ce-partitionkey': '0.1' });
    const f64 = Buffer.alloc(8);
    f64.writeDoubleBE(-2.25);
    expect(encodeCloudEvent(record({ key: f64 }), ctx).headers).toEqual({ ...base, 'ce-key': '-2.25', 'ce-partitionkey': '-2.25' });
  });

  it('(f) byte-array key → base64', () => {
    const request = encodeCloudEvent(record({ key: Buffer.from([0xde, 0xad, 0xbe, 0xef]) }), { ...context, keyType: 'byte-array' });
    expect(request.headers).toEqual({ ...base, 'ce-key': '3q2+7w==', 'ce-partitionkey': '3q2+7w==' });
  });

  it('(g) int key that is not 4 bytes → decoded as a string', () => {
    const request = encodeCloudEvent(record({ key: Buffer.from('abc') }), { ...context, keyType: 'int' });
    expect(request.headers).toEqual({ ...base, 'ce-key': 'abc', 'ce-partitionkey': 'abc' });
  });

  it('(k) extensions from the context on every event; core attributes are not overridden', () => {
    const request = encodeCloudEvent(record(), { ...context, extensions: { Team: 'payments', env: 'prod', id: 'nope' } });
    expect(request.headers).toEqual({ ...base, 'ce-team': 'payments', 'ce-env': 'prod' });
  });

  it('(l) header values with CR/LF, spaces, quotes, % and non-ASCII are percent-encoded', () => {
    const request = encodeCloudEvent(
      record({
        key: Buffer.from('café au lait'),
        headers: {
          evil: Buffer.from('a\r\nX-Injected: 1'),
          quote: '"50%"',
          nul: Buffer.from([0x61, 0x00, 0x62]),
          tab: 'a\tb',
          'content-type': 'text/plain;\r\n charset=utf-8',
        },
      }),
      context,
    );
    expect(request.headers).toEqual({
      ...base,
      'ce-key': 'caf%C3%A9%20au%20lait',
      'ce-partitionkey': 'caf%C3%A9%20au%20lait',
      'ce-kafkaheaderevil': 'a%0D%0AX-Injected:%201',
      'ce-kafkaheaderquote': '%2250%25%22',
      'ce-kafkaheadernul': 'a%00b',
      'ce-kafkaheadertab': 'a%09b',
      'content-type': 'text/plain; charset=utf-8',
    });
    for (const value of Object.values(request.headers)) {
      expect(value).not.toMatch(/[\r\n\0]/);
    }
  });

  it('ce-time is the record timestamp in ISO-8601 whatever the order of the timestamps', () => {
    const second = Date.UTC(2024, 2, 1, 12, 34, 56);
    // Within one second, across its edges, backwards, a day later and before 1970's end of ms.
    for (const timestamp of [
      second,
      second + 7,
      second + 999,
      second + 1000,
      second + 42,
      second - 1,
      second + 86_400_050,
      5,
      999,
      1000,
      8.64e15,
      8.64e15 + 1,
    ]) {
      const date = new Date(timestamp);
      expect(encodeCloudEvent(record({ timestamp }), context).headers['ce-time']).toBe(
        Number.isNaN(date.getTime()) ? undefined : date.toISOString(),
      );
    }
  });

  it('a record with no timestamp (-1) gets no ce-time', () => {
    const { 'ce-time': _time, ...withoutTime } = base;
    expect(encodeCloudEvent(record({ timestamp: -1 }), context).headers).toEqual(withoutTime);
  });
});

describe('encodeCloudEvent: CloudEvent records pass through', () => {
  it('(h) Kafka binary mode: own attributes and data; partition/offset and overrides added', () => {
    const value = Buffer.from('{"order":1}');
    const ce = record({
      key: Buffer.from('k'),
      value,
      headers: {
        ce_specversion: '1.0',
        ce_id: 'evt-1',
        ce_source: '/my/source',
        ce_type: 'com.example.order',
        ce_subject: 'order-1',
        ce_time: '2024-01-01T00:00:00Z',
        ce_myext: 'x',
        'content-type': 'application/json',
        unrelated: 'dropped',
      },
    });
    expect(isCloudEventRecord(ce)).toBe(true);
    const request = encodeCloudEvent(ce, { ...context, extensions: { team: 'payments' } });
    expect(request.headers).toEqual({
      'ce-specversion': '1.0',
      'ce-id': 'evt-1',
      'ce-source': '/my/source',
      'ce-type': 'com.example.order',
      'ce-subject': 'order-1',
      'ce-time': '2024-01-01T00:00:00Z',
      'ce-myext': 'x',
      'ce-team': 'payments',
      'ce-knativekafkapartition': '3',
      'ce-knativekafkaoffset': '1234',
      'content-type': 'application/json',
    });
    expect(request.body).toBe(value);
  });

  it('(i) structured mode with data → JSON body, content-type from datacontenttype (default application/json)', () => {
    const ce = record({
      headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
      value: Buffer.from(
        JSON.stringify({
          specversion: '1.0',
          id: 'evt-2',
          source: '/s',
          type: 't',
          time: '2024-01-01T00:00:00+02:00',
          sequence: 7,
          flag: true,
          data: { a: 1 },
        }),
      ),
    });
    expect(isCloudEventRecord(ce)).toBe(true);
    const request = encodeCloudEvent(ce, context);
    expect(request.headers).toEqual({
      'ce-specversion': '1.0',
      'ce-id': 'evt-2',
      'ce-source': '/s',
      'ce-type': 't',
      'ce-time': '2024-01-01T00:00:00+02:00',
      'ce-sequence': '7',
      'ce-flag': 'true',
      'ce-knativekafkapartition': '3',
      'ce-knativekafkaoffset': '1234',
      'content-type': 'application/json',
    });
    expect(request.body?.toString()).toBe('{"a":1}');
  });

  it('(i) structured mode with text data and a non-JSON datacontenttype → the text itself', () => {
    const ce = record({
      headers: { 'Content-Type': 'Application/CloudEvents+JSON' },
      value: Buffer.from(
        JSON.stringify({ specversion: '1.0', id: 'evt-4', source: '/s', type: 't', datacontenttype: 'text/plain', data: 'hi there' }),
      ),
    });
    const request = encodeCloudEvent(ce, context);
    expect(request.headers).toEqual({
      'ce-specversion': '1.0',
      'ce-id': 'evt-4',
      'ce-source': '/s',
      'ce-type': 't',
      'ce-knativekafkapartition': '3',
      'ce-knativekafkaoffset': '1234',
      'content-type': 'text/plain',
    });
    expect(request.body?.toString()).toBe('hi there');
  });

  it('(i) structured mode with data_base64 → decoded bytes', () => {
    const ce = record({
      headers: { 'content-type': 'application/cloudevents+json' },
      value: Buffer.from(
        JSON.stringify({
          specversion: '1.0',
          id: 'evt-3',
          source: '/s',
          type: 't',
          datacontenttype: 'application/octet-stream',
          data_base64: '3q2+7w==',
        }),
      ),
    });
    const request = encodeCloudEvent(ce, context);
    expect(request.headers).toEqual({
      'ce-specversion': '1.0',
      'ce-id': 'evt-3',
      'ce-source': '/s',
      'ce-type': 't',
      'ce-knativekafkapartition': '3',
      'ce-knativekafkaoffset': '1234',
      'content-type': 'application/octet-stream',
    });
    expect(request.body).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
  });
});

describe('encodeCloudEvent: malformed CloudEvent records', () => {
  it('(j) binary mode without ce_id → RecordFormatError naming it', () => {
    const bad = record({ headers: { ce_specversion: '1.0', ce_source: '/s', ce_type: 't' } });
    expect(() => encodeCloudEvent(bad, context)).toThrow(RecordFormatError);
    expect(() => encodeCloudEvent(bad, context)).toThrow(/ce_id/);
  });

  it('(j) binary mode with specversion 0.3 → RecordFormatError', () => {
    const bad = record({ headers: { ce_specversion: '0.3', ce_id: '1', ce_source: '/s', ce_type: 't' } });
    expect(() => encodeCloudEvent(bad, context)).toThrow(/specversion/);
  });

  it.each([
    ['invalid JSON', '{"specversion":"1.0",', /not valid JSON/],
    ['not an object', '[1,2]', /not a JSON object/],
    ['missing id', '{"specversion":"1.0","source":"/s","type":"t"}', /missing required attribute id/],
    ['object attribute', '{"specversion":"1.0","id":"1","source":"/s","type":"t","ext":{"a":1}}', /"ext"/],
    ['both data and data_base64', '{"specversion":"1.0","id":"1","source":"/s","type":"t","data":1,"data_base64":"AA=="}', /both/],
  ])('(j) structured mode, %s → RecordFormatError', (_name, json, message) => {
    const bad = record({ headers: { 'content-type': 'application/cloudevents+json' }, value: Buffer.from(json) });
    expect(() => encodeCloudEvent(bad, context)).toThrow(RecordFormatError);
    expect(() => encodeCloudEvent(bad, context)).toThrow(message);
  });
});

describe('isCloudEventRecord', () => {
  it('is false for a plain record, even with other ce-like headers', () => {
    expect(isCloudEventRecord(record({ headers: { 'content-type': 'application/json', 'ce-id': 'x' } }))).toBe(false);
  });
});

describe('decodeKey', () => {
  it.each([
    ['string', Buffer.from('héllo'), 'héllo'],
    ['int', int32(42), '42'],
    ['int', int32(-2147483648), '-2147483648'],
    ['int', Buffer.from('12345678'), '12345678'],
    ['byte-array', Buffer.from([0, 1, 2]), 'AAEC'],
    ['float', Buffer.from('xyz'), 'xyz'],
  ] as const)('%s %o → %s', (keyType, key, expected) => {
    expect(decodeKey(key, keyType)).toBe(expected);
  });
});

describe('javaFloatToString (Java Float/Double.toString layout)', () => {
  it.each([
    [1.5, true, '1.5'],
    [42, true, '42.0'],
    [Math.fround(0.1), true, '0.1'],
    [Math.fround(3.4028235e38), true, '3.4028235E38'],
    [1e7, true, '1.0E7'],
    [1234567, false, '1234567.0'],
    [0.001, false, '0.001'],
    [0.0001, false, '1.0E-4'],
    [0.1, false, '0.1'],
    [-0, false, '-0.0'],
    [0, true, '0.0'],
    [NaN, true, 'NaN'],
    [-Infinity, false, '-Infinity'],
    [1e21, false, '1.0E21'],
    [123.456, false, '123.456'],
  ])('%s (float32: %s) → %s', (value, single, expected) => {
    expect(javaFloatToString(value, single)).toBe(expected);
  });
});

describe('percentEncode', () => {
  it.each([
    ['plain-ascii:/#?&=', 'plain-ascii:/#?&='],
    ['a b', 'a%20b'],
    ['100%', '100%25'],
    ['say "hi"', 'say%20%22hi%22'],
    ['€', '%E2%82%AC'],
    ['\u{1F600}', '%F0%9F%98%80'],
    ['\x7f', '%7F'],
  ])('%j → %s', (input, expected) => {
    expect(percentEncode(input)).toBe(expected);
  });
});
