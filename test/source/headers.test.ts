import { describe, expect, it } from 'vitest';
import { flattenHeaders, headerText, lastHeader, lastValue } from '../../src/source/headers.js';

describe('Kafka headers: case-insensitive, the last value wins', () => {
  it('a single value, Buffer or string', () => {
    expect(headerText({ 'content-type': Buffer.from('text/plain') }, 'content-type')).toBe('text/plain');
    expect(headerText({ 'content-type': 'text/plain' }, 'content-type')).toBe('text/plain');
    expect(headerText({}, 'content-type')).toBeUndefined();
  });

  it('a repeated header: the last of its values', () => {
    expect(headerText({ h: [Buffer.from('first'), Buffer.from('last')] }, 'h')).toBe('last');
    expect(headerText({ h: [Buffer.from('first'), undefined as unknown as Buffer] }, 'h')).toBe('first');
    expect(lastValue([])).toBeUndefined();
  });

  it('names differing in case are one header: the later one wins', () => {
    expect(headerText({ 'Content-Type': 'a', 'content-type': 'b' }, 'content-type')).toBe('b');
    expect(headerText({ 'content-type': 'a', 'CONTENT-TYPE': 'b' }, 'content-type')).toBe('b');
    expect(lastHeader({ TraceParent: Buffer.from('x') }, 'traceparent')).toEqual(Buffer.from('x'));
  });

  it('flattenHeaders keeps a header named __proto__ as a header (dead letters and replies carry it on)', () => {
    const headers = {};
    Object.defineProperty(headers, '__proto__', { value: 'p', enumerable: true });
    const flat = flattenHeaders(headers);
    expect(Object.keys(flat)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(flat)).toBe(Object.prototype);
  });

  it('flattenHeaders keeps one value per name, the last, and drops empty entries', () => {
    expect(flattenHeaders({ a: 'x', b: [Buffer.from('1'), Buffer.from('2')], c: undefined, d: [] })).toEqual({
      a: 'x',
      b: Buffer.from('2'),
    });
  });
});
