import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeRaw } from '../../src/dispatch/encode.js';
import { headerText } from '../../src/source/headers.js';
import { record, unsafeHeaders } from '../helpers/arbitraries.js';

// The `raw` format for arbitrary records: the value as the body, the record's content-type, and
// headers that are safe to write whatever the producer put in the Kafka headers.

describe('raw format, properties', () => {
  it('sends the value unchanged with one content-type header', () => {
    fc.assert(
      fc.property(record(), (r) => {
        const request = encodeRaw(r);
        expect(Object.keys(request.headers)).toEqual(['content-type']);
        if (r.value === null) expect(request.body).toBeNull();
        else expect(request.body?.equals(r.value)).toBe(true);
        if (headerText(r.headers, 'content-type') === undefined) expect(request.headers['content-type']).toBe('application/octet-stream');
      }),
    );
  });

  it('never writes a header that could inject or split, whatever the record content-type holds', () => {
    fc.assert(
      fc.property(record(), (r) => {
        expect(unsafeHeaders(encodeRaw(r).headers)).toEqual([]);
      }),
    );
  });
});
