import { describe, expect, it } from 'vitest';
import {
  compileRecordExpression,
  ExpressionEvaluationError,
  ExpressionSyntaxError,
  recordContext,
  type ExpressionKind,
} from '../../src/dispatch/record-expression.js';
import type { KeyType } from '../../src/config/settings.js';
import type { KafkaRecord } from '../../src/source/record.js';

function record(overrides: Partial<KafkaRecord> = {}): KafkaRecord {
  return {
    topic: 'orders',
    partition: 3,
    offset: 41,
    key: Buffer.from('k-1'),
    value: Buffer.from('{"n": 2, "model": "resnet", "tags": ["a", "b"]}'),
    headers: {},
    timestamp: Date.UTC(2026, 0, 2, 3, 4, 5),
    ...overrides,
  };
}

/** Compiles `source` and evaluates it on `rec`. */
function evaluate(source: string, rec: KafkaRecord = record(), kind: ExpressionKind = 'filter', keyType: KeyType = 'string') {
  return compileRecordExpression(source, kind).evaluate(recordContext(rec, keyType));
}

function syntaxErrorOf(source: string, kind: ExpressionKind = 'filter'): ExpressionSyntaxError {
  try {
    compileRecordExpression(source, kind);
  } catch (error) {
    expect(error).toBeInstanceOf(ExpressionSyntaxError);
    return error as ExpressionSyntaxError;
  }
  throw new Error(`${source} compiled`);
}

describe('the record context of FILTER and ROUTE', () => {
  it('key: the key as text per KEY_TYPE, as ce-key is; null without a key', () => {
    expect(evaluate('key', record(), 'route')).toBe('k-1');
    const int = Buffer.alloc(4);
    int.writeInt32BE(-7);
    expect(evaluate('key', record({ key: int }), 'route', 'int')).toBe('-7');
    const double = Buffer.alloc(8);
    double.writeDoubleBE(1.5);
    expect(evaluate('key', record({ key: double }), 'route', 'float')).toBe('1.5');
    expect(evaluate('key', record({ key: Buffer.from([0xff, 0x00]) }), 'route', 'byte-array')).toBe('/wA=');
    expect(evaluate('key == null', record({ key: null }))).toBe(true);
  });

  it('value: a JSON value as maps, lists and doubles; text when it is not JSON; null for a tombstone', () => {
    expect(evaluate('value.model', record(), 'route')).toBe('resnet');
    expect(evaluate('value.n == 2 && value.n > 1.5 && value.tags[1] == "b"')).toBe(true);
    // JSON numbers are doubles: `%` needs int().
    expect(evaluate('int(value.n) % 2 == 0')).toBe(true);
    expect(() => evaluate('value.n % 2 == 0')).toThrow(ExpressionEvaluationError);
    expect(evaluate('value', record({ value: Buffer.from('plain text, not JSON') }), 'route')).toBe('plain text, not JSON');
    expect(evaluate('value == null', record({ value: null }))).toBe(true);
    expect(evaluate('value == "42"', record({ value: Buffer.from('"42"') }))).toBe(true);
  });

  it('value: parsed only when the expression reads it, and once', () => {
    let reads = 0;
    const bytes = Buffer.from('{"n": 1}');
    const toString = bytes.toString.bind(bytes);
    bytes.toString = ((...args: Parameters<Buffer['toString']>) => {
      reads++;
      return toString(...args);
    }) as Buffer['toString'];
    const context = recordContext(record({ value: bytes }), 'string');
    expect(compileRecordExpression('topic == "orders"', 'filter').evaluate(context)).toBe(true);
    expect(reads).toBe(0);
    expect(compileRecordExpression('value.n == 1 && value.n < 2', 'filter').evaluate(context)).toBe(true);
    expect(compileRecordExpression('has(value.n)', 'filter').evaluate(context)).toBe(true);
    expect(reads).toBe(1);
  });

  it('headers: names in lower case, the last value of a repeated header, as text', () => {
    const rec = record({ headers: { Model: Buffer.from('resnet'), 'X-Tier': [Buffer.from('gold'), 'silver'], empty: undefined } });
    expect(evaluate('headers.model', rec, 'route')).toBe('resnet');
    expect(evaluate('headers["x-tier"]', rec, 'route')).toBe('silver');
    expect(evaluate('"Model" in headers || "empty" in headers', rec)).toBe(false);
    expect(evaluate('size(headers) == 2', rec)).toBe(true);
  });

  it('topic is a string, partition and offset ints, timestamp a timestamp', () => {
    expect(evaluate('topic == "orders" && partition == 3 && offset == 41')).toBe(true);
    expect(evaluate('offset % 2 == 1 && partition + 1 == 4')).toBe(true);
    expect(evaluate('timestamp == timestamp("2026-01-02T03:04:05Z")')).toBe(true);
    expect(evaluate('timestamp > timestamp("2026-01-01T00:00:00Z") && timestamp.getHours() == 3')).toBe(true);
  });
});

describe('compiling', () => {
  it('a syntax error says what and where, line and column from 1', () => {
    const error = syntaxErrorOf('value.n +');
    expect(error.message).toBe('Unexpected token: EOF at line 1, column 10');
    expect([error.line, error.column]).toEqual([1, 10]);
    expect(syntaxErrorOf('has(value.model) &&\n  value.model == )').message).toBe('Unexpected token: RPAREN at line 2, column 18');
  });

  it('a variable that is not in the context is refused', () => {
    expect(syntaxErrorOf('body.n == 1').message).toBe('Unknown variable: body at line 1, column 1');
  });

  it('the wrong result type is refused when it is known: a filter returns a bool, a route a string', () => {
    expect(syntaxErrorOf('offset + 1').message).toBe('a filter must return a bool, this one returns int at line 1, column 1');
    expect(syntaxErrorOf('topic == "a"', 'route').message).toBe('a route must return a string, this one returns bool at line 1, column 1');
    // dyn is only known per record.
    expect(() => compileRecordExpression('value.model', 'route')).not.toThrow();
  });
});

describe('evaluating', () => {
  it('a field the record lacks is an evaluation error, which has() avoids', () => {
    expect(() => evaluate('value.price > 1.0')).toThrow(new ExpressionEvaluationError('No such key: price'));
    expect(evaluate('has(value.price) && value.price > 1.0')).toBe(false);
    expect(() => evaluate('headers.model == "resnet"')).toThrow(ExpressionEvaluationError);
  });

  it('a dyn result of the wrong type is an evaluation error naming what it returned', () => {
    expect(() => evaluate('value.n', record(), 'route')).toThrow(
      new ExpressionEvaluationError('the route returned a number, not a string'),
    );
    expect(() => evaluate('value.model')).toThrow(new ExpressionEvaluationError('the filter returned the string "resnet", not a bool'));
    expect(() => evaluate('value', record({ value: null }))).toThrow(new ExpressionEvaluationError('the filter returned null, not a bool'));
  });
});
