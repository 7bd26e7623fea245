import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ceSource,
  decodeKey,
  encodeCloudEvent,
  isCloudEventRecord,
  KNATIVE_KAFKA_EVENT_TYPE,
  type CloudEventContext,
} from '../../src/dispatch/cloudevents.js';
import { RecordFormatError } from '../../src/errors.js';
import { lastText } from '../../src/source/headers.js';
import type { KafkaRecord } from '../../src/source/record.js';
import type { OutboundRequest } from '../../src/sink/sender.js';
import { headers, headerScalar, record, text, unsafeHeaders } from '../helpers/arbitraries.js';

// Properties of the Kafka record → CloudEvent (HTTP binary mode) mapping, for arbitrary records:
// hostile header names and values (CR, LF, NUL, non-ASCII, lone surrogates), null and non-UTF-8
// keys and values, records that are or claim to be CloudEvents. DESIGN.md §1 is the table.

const keyType = fc.constantFrom('string' as const, 'int' as const, 'float' as const, 'byte-array' as const);

const context = (extensionName: fc.Arbitrary<string> = text(8)): fc.Arbitrary<CloudEventContext> =>
  fc.record({
    namespace: text(),
    name: text(),
    keyType,
    extensions: fc.array(fc.tuple(extensionName, text()), { maxLength: 3 }).map((e) => Object.fromEntries(e) as Record<string, string>),
  });

/** What a receiver gets back from a `ce-*` value (the binding's percent-encoding undone). */
const decoded = (value: string | undefined) => (value === undefined ? undefined : decodeURIComponent(value));
/** What a JS string looks like after a UTF-8 round trip: lone surrogates become U+FFFD. */
const wellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8');
const attributeName = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');
const sanitizedContentType = (value: string) => value.replace(/[^\t\x20-\x7e]/g, '').trim();

/** A deep copy of a record, Buffers included. */
function copy(r: KafkaRecord): KafkaRecord {
  const clone = (v: Buffer | string) => (typeof v === 'string' ? v : Buffer.from(v));
  const h: KafkaRecord['headers'] = Object.fromEntries(
    Object.entries(r.headers).map(([name, v]) => [name, v === undefined ? v : Array.isArray(v) ? v.map(clone) : clone(v)]),
  );
  return { ...r, key: r.key && Buffer.from(r.key), value: r.value && Buffer.from(r.value), headers: h };
}

/** Encodes, returning the request or the error it threw. */
function attempt(r: KafkaRecord, c: CloudEventContext): { request?: OutboundRequest; error?: unknown } {
  try {
    return { request: encodeCloudEvent(r, c) };
  } catch (error) {
    return { error };
  }
}

function expectSafeHeaders(request: OutboundRequest): void {
  expect(unsafeHeaders(request.headers)).toEqual([]);
}

describe('CloudEvent mapping, properties', () => {
  it('never writes a header that could inject or split: valid names and values, or a RecordFormatError', () => {
    fc.assert(
      fc.property(record(), context(), (r, c) => {
        const { request, error } = attempt(r, c);
        if (error !== undefined) {
          expect(error).toBeInstanceOf(RecordFormatError);
          expect((error as RecordFormatError).code).toBe('KD_RECORD_INVALID');
          // Only a record that claims to be a CloudEvent can be refused.
          expect(isCloudEventRecord(r)).toBe(true);
          return;
        }
        expectSafeHeaders(request!);
        // Every event carries the required attributes, a 1.0 specversion and Knative's two extensions.
        const h = request!.headers;
        expect(h['ce-specversion']).toBe('1.0');
        for (const name of ['ce-id', 'ce-source', 'ce-type']) expect(h[name]).toMatch(/^.+$/);
        expect(h['ce-knativekafkapartition']).toBe(String(r.partition));
        expect(h['ce-knativekafkaoffset']).toBe(String(r.offset));
      }),
    );
  });

  it('maps a plain record as Knative does: every attribute, every Kafka header, the value as the body', () => {
    // Extension names are kept apart from the record's own attributes (an extension named `key`
    // would replace ce-key by design), so each header has one expected source.
    const plainHeaders = headers.map((h) =>
      Object.fromEntries(Object.entries(h).filter(([name]) => !name.toLowerCase().startsWith('ce_'))),
    );
    const plain = record(plainHeaders).filter((r) => !isCloudEventRecord(r));
    fc.assert(
      fc.property(plain, context(fc.stringMatching(/^x-[a-z0-9]{1,6}$/)), (r, c) => {
        const { headers: h, body } = encodeCloudEvent(r, c);
        const expected = new Map<string, string | undefined>([
          ['ce-specversion', '1.0'],
          ['ce-id', `partition:${r.partition}/offset:${r.offset}`],
          ['ce-source', wellFormed(ceSource(c.namespace, c.name, r.topic))],
          ['ce-type', KNATIVE_KAFKA_EVENT_TYPE],
          ['ce-subject', `partition:${r.partition}#${r.offset}`],
          ['ce-knativekafkapartition', String(r.partition)],
          ['ce-knativekafkaoffset', String(r.offset)],
        ]);
        const time = r.timestamp >= 0 && r.timestamp <= 8.64e15 ? new Date(r.timestamp).toISOString() : undefined;
        if (time !== undefined) expected.set('ce-time', time);
        if (r.key !== null) {
          const key = wellFormed(decodeKey(r.key, c.keyType));
          expected.set('ce-key', key);
          expected.set('ce-partitionkey', key);
        }
        let contentType: string | undefined;
        for (const name of Object.keys(r.headers)) {
          const value = lastText(r.headers[name]);
          if (value === undefined) continue;
          if (name.toLowerCase() === 'content-type') contentType = value;
          else expected.set(`ce-kafkaheader${attributeName(name)}`, wellFormed(value));
        }
        for (const [name, value] of Object.entries(c.extensions)) expected.set(`ce-${attributeName(name)}`, wellFormed(value));

        const ce = Object.fromEntries(
          Object.entries(h)
            .filter(([name]) => name !== 'content-type')
            .map(([name, value]) => [name, decoded(value)]),
        );
        expect(ce).toEqual(Object.fromEntries(expected));
        const safeType = contentType === undefined ? '' : sanitizedContentType(contentType.toLowerCase());
        expect(h['content-type']).toBe(safeType === '' ? undefined : safeType);
        // The body is the value itself, byte for byte; a null value stays null.
        if (r.value === null) expect(body).toBeNull();
        else expect(body?.equals(r.value)).toBe(true);
      }),
    );
  });

  it('decodes every key type so that the text reads back to the key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 10 }), keyType, (array, type) => {
        const key = Buffer.from(array);
        const text = decodeKey(key, type);
        if (type === 'byte-array') {
          expect(Buffer.from(text, 'base64').equals(key)).toBe(true);
        } else if (type === 'int' && key.length === 4) {
          expect(text).toMatch(/^-?\d+$/);
          expect(Number(text)).toBe(key.readInt32BE(0));
        } else if (type === 'float' && (key.length === 4 || key.length === 8)) {
          // Java's Float/Double.toString layout: 1.5, 42.0, -0.0, 1.0E10, 1.0E-4, NaN, Infinity.
          expect(text).toMatch(/^(?:-?(?:\d+\.\d+|\d\.\d+E-?\d+|Infinity)|NaN)$/);
          const value = key.length === 4 ? key.readFloatBE(0) : key.readDoubleBE(0);
          const back = key.length === 4 ? Math.fround(Number(text)) : Number(text);
          expect(Object.is(back, value) || (Number.isNaN(back) && Number.isNaN(value))).toBe(true);
        } else {
          expect(text).toBe(key.toString('utf8'));
        }
      }),
    );
  });

  /** A valid Kafka binary-mode CloudEvent: ce_ headers with distinct attribute names, any case, Buffer or string. */
  const binaryEvent = fc
    .record({
      id: text().filter((s) => s !== ''),
      source: text().filter((s) => s !== ''),
      type: text().filter((s) => s !== ''),
      optional: fc.uniqueArray(
        fc.tuple(
          fc.oneof(fc.constantFrom('subject', 'time', 'dataschema', 'traceparent', 'partitionkey'), fc.stringMatching(/^[a-z0-9]{1,8}$/)),
          text(),
        ),
        { selector: ([name]) => name, maxLength: 4 },
      ),
      contentType: fc.option(text(), { nil: undefined }),
      dataContentType: fc.option(text(), { nil: undefined }),
      upper: fc.array(fc.boolean(), { minLength: 32, maxLength: 32 }),
      asBuffer: fc.array(fc.boolean(), { minLength: 32, maxLength: 32 }),
      other: fc.array(
        fc.tuple(
          text().filter((n) => !/^(ce_|content-type$)/i.test(n)),
          headerScalar,
        ),
        { maxLength: 2 },
      ),
    })
    .filter(({ optional }) => optional.every(([name]) => !['specversion', 'id', 'source', 'type', 'datacontenttype'].includes(name)))
    .map((e) => {
      const attributes: Array<[string, string]> = [
        ['specversion', '1.0'],
        ['id', e.id],
        ['source', e.source],
        ['type', e.type],
        ...e.optional,
      ];
      const h: KafkaRecord['headers'] = Object.fromEntries(e.other);
      attributes.forEach(([name, value], i) => {
        const headerName = e.upper[i] ? `CE_${name.toUpperCase()}` : `ce_${name}`;
        h[headerName] = e.asBuffer[i] ? Buffer.from(value, 'utf8') : value;
      });
      if (e.dataContentType !== undefined) h['ce_datacontenttype'] = e.dataContentType;
      if (e.contentType !== undefined) h['Content-Type'] = e.contentType;
      return { attributes, headers: h, contentType: e.contentType, dataContentType: e.dataContentType };
    })
    .filter((e) => !(e.contentType ?? '').trim().toLowerCase().startsWith('application/cloudevents+json'));

  it('passes a binary-mode CloudEvent through: its own attributes, its content-type, its value as the body', () => {
    fc.assert(
      fc.property(binaryEvent, record(fc.constant({})), (event, base) => {
        const r = { ...base, headers: event.headers };
        const c: CloudEventContext = { namespace: 'ns', name: 'src', keyType: 'string', extensions: {} };
        const { headers: h, body } = encodeCloudEvent(r, c);
        const expected: Record<string, string> = {};
        for (const [name, value] of event.attributes) expected[`ce-${name}`] = wellFormed(value);
        expected['ce-knativekafkapartition'] = String(r.partition);
        expected['ce-knativekafkaoffset'] = String(r.offset);
        const ce = Object.fromEntries(
          Object.entries(h)
            .filter(([name]) => name !== 'content-type')
            .map(([name, value]) => [name, decoded(value)]),
        );
        expect(ce).toEqual(expected);
        const safeType = sanitizedContentType(event.contentType ?? event.dataContentType ?? '');
        expect(h['content-type']).toBe(safeType === '' ? undefined : safeType);
        if (r.value === null) expect(body).toBeNull();
        else expect(body?.equals(r.value)).toBe(true);
        expectSafeHeaders({ headers: h, body });
      }),
    );
  });

  it('refuses a binary-mode CloudEvent without a required attribute or with another specversion', () => {
    const broken = fc
      .record({
        event: binaryEvent,
        drop: fc.constantFrom('specversion', 'id', 'source', 'type'),
        how: fc.constantFrom('missing', 'empty', 'other'),
        specversion: fc.constantFrom('0.3', '1', '1.0 ', '2.0', ''),
      })
      .map(({ event, drop, how, specversion }) => {
        const h = { ...event.headers };
        for (const name of Object.keys(h)) if (name.toLowerCase() === `ce_${drop}`) delete h[name];
        if (drop === 'specversion') h['ce_specversion'] = how === 'missing' ? specversion : specversion || '0.3';
        else if (how !== 'missing') h[`ce_${drop}`] = '';
        return h;
      });
    fc.assert(
      fc.property(broken, record(fc.constant({})), (h, base) => {
        const r = { ...base, headers: h };
        const c: CloudEventContext = { namespace: 'ns', name: 'src', keyType: 'string', extensions: {} };
        expect(() => encodeCloudEvent(r, c)).toThrow(RecordFormatError);
      }),
    );
  });

  it('passes a structured-mode CloudEvent through: attributes as ce-* headers, data as the body', () => {
    const data = fc.oneof(
      fc.record({ base64: fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)) }),
      fc.record({ json: fc.jsonValue() }),
    );
    const structured = fc.record({
      id: text().filter((s) => s !== ''),
      source: text().filter((s) => s !== ''),
      type: text().filter((s) => s !== ''),
      extra: fc.dictionary(fc.stringMatching(/^x[a-z0-9]{0,6}$/), fc.oneof(text(), fc.integer(), fc.boolean()), { maxKeys: 3 }),
      data,
    });
    fc.assert(
      fc.property(structured, record(fc.constant({})), (e, base) => {
        const event: Record<string, unknown> = { specversion: '1.0', id: e.id, source: e.source, type: e.type, ...e.extra };
        if ('base64' in e.data) event.data_base64 = e.data.base64.toString('base64');
        else event.data = e.data.json;
        const r: KafkaRecord = {
          ...base,
          headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
          value: Buffer.from(JSON.stringify(event), 'utf8'),
        };
        const c: CloudEventContext = { namespace: 'ns', name: 'src', keyType: 'string', extensions: {} };
        const request = encodeCloudEvent(r, c);
        expectSafeHeaders(request);
        const h = request.headers;
        expect(decoded(h['ce-id'])).toBe(wellFormed(e.id));
        expect(decoded(h['ce-source'])).toBe(wellFormed(e.source));
        expect(decoded(h['ce-type'])).toBe(wellFormed(e.type));
        for (const [name, value] of Object.entries(e.extra)) expect(decoded(h[`ce-${name}`])).toBe(wellFormed(String(value)));
        if ('base64' in e.data) {
          expect(request.body?.equals(e.data.base64)).toBe(true);
        } else {
          expect(JSON.parse(request.body!.toString('utf8'))).toEqual(JSON.parse(JSON.stringify(e.data.json)));
          expect(h['content-type']).toBe('application/json');
        }
      }),
    );
  });

  it('is deterministic: the same record and context give the same request, whatever was encoded in between', () => {
    fc.assert(
      fc.property(record(), record(), context(), (a, b, c) => {
        const first = attempt(a, c);
        attempt(b, c);
        attempt(b, { ...c });
        const again = attempt(a, c);
        const fresh = attempt(copy(a), { ...c, extensions: { ...c.extensions } });
        for (const other of [again, fresh]) {
          if (first.error !== undefined) {
            expect((other.error as Error | undefined)?.message).toBe((first.error as Error).message);
          } else {
            expect(other.request?.headers).toEqual(first.request!.headers);
            expect(other.request?.body).toEqual(first.request!.body);
          }
        }
      }),
    );
  });
});
