import fc from 'fast-check';
import type { KafkaRecord } from '../../src/source/record.js';

// fast-check arbitraries for Kafka records as a hostile producer could write them: header names and
// values with CR, LF, NUL, non-ASCII and lone surrogates, null and non-UTF-8 keys and values, names
// that matter to the CloudEvents mapping (content-type, ce_*), any partition, offset and timestamp.

/** Characters that break naive header writing, mixed with arbitrary code points. */
export const hostileChar = fc.oneof(
  fc.constantFrom('\r', '\n', '\r\n', '\0', ' ', '\t', '"', '%', ':', ';', '\x7f', '\x85', '\u2028', 'é', '\ud800', '\udfff', '😀', '%0D'),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);
export const text = (maxLength = 12) => fc.string({ unit: hostileChar, maxLength });

export const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a)),
  text().map((s) => Buffer.from(s, 'utf8')),
  fc.constantFrom(Buffer.from([0xff, 0xfe, 0x00, 0x0d, 0x0a]), Buffer.from([0xc3]), Buffer.alloc(0)),
);

export const headerName = fc.oneof(
  text(),
  fc.constantFrom(
    'content-type',
    'Content-Type',
    'CONTENT-TYPE',
    'ce_specversion',
    'CE_SpecVersion',
    'ce_id',
    'ce_source',
    'ce_type',
    'ce_subject',
    'ce_time',
    'ce_datacontenttype',
    'ce_knativekafkaoffset',
    'ce_',
    'ce-id',
    '__proto__',
    'constructor',
    'Set-Cookie',
    'x\r\nInjected: 1',
  ),
  text(6).map((s) => `ce_${s}`),
);

export const headerScalar = fc.oneof(
  bytes,
  text(),
  fc.constantFrom('1.0', 'application/cloudevents+json', 'APPLICATION/CLOUDEVENTS+JSON; charset=utf-8', 'text/plain\r\nX-Injected: 1'),
);
export const headerValue = fc.oneof(
  { weight: 4, arbitrary: headerScalar },
  { weight: 1, arbitrary: fc.array(headerScalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

/** Built with Object.fromEntries so `__proto__` is an own header, as any name can be. */
export const headers = fc
  .array(fc.tuple(headerName, headerValue), { maxLength: 6 })
  .map((entries) => Object.fromEntries(entries) as KafkaRecord['headers']);

export const timestamp = fc.oneof(
  fc.integer({ min: 0, max: 253_402_300_799_999 }), // up to 9999-12-31T23:59:59.999Z
  fc.constantFrom(-1, 0, 8.64e15, 8.64e15 + 1, Number.MAX_SAFE_INTEGER),
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -1 }),
);

export const record = (h: fc.Arbitrary<KafkaRecord['headers']> = headers): fc.Arbitrary<KafkaRecord> =>
  fc.record({
    topic: text(),
    partition: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    offset: fc.maxSafeNat(),
    key: fc.option(bytes, { nil: null }),
    value: fc.option(bytes, { nil: null }),
    headers: h,
    timestamp,
  });

/** RFC 9110 §5.6.2 token: what an HTTP field name may be. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** RFC 9110 §5.5 field value, with no leading or trailing whitespace (which a peer would strip). */
const FIELD_VALUE = /^(?:[\x21-\x7e](?:[\t\x20-\x7e]*[\x21-\x7e])?)?$/;

/**
 * What is wrong with a set of outgoing HTTP headers, one line per problem (none: safe to write): a
 * name that is not a token, a value with CR, LF, NUL, other controls, non-ASCII or edge whitespace,
 * or two names that differ only in case (they would go out as one repeated header).
 */
export function unsafeHeaders(headers: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) problems.push(`name ${JSON.stringify(name)} is not a token`);
    if (typeof value !== 'string') problems.push(`${name}: value is a ${typeof value}`);
    else if (!FIELD_VALUE.test(value)) problems.push(`${name}: value ${JSON.stringify(value)} is not a field value`);
    if (seen.has(name.toLowerCase())) problems.push(`${name} repeated in another case`);
    seen.add(name.toLowerCase());
  }
  return problems;
}
