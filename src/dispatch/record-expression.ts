import { Environment } from '@marcbachmann/cel-js';
import type { KeyType } from '../config/settings.js';
import { lastText } from '../source/headers.js';
import type { KafkaRecord } from '../source/record.js';
import { decodeKey } from './cloudevents.js';

/**
 * CEL expressions over a record (FILTER, ROUTE), with @marcbachmann/cel-js. An expression is parsed
 * and type-checked once, when the configuration is read; it is then evaluated per record against
 * the same context fields as Knative's filters see of an event:
 *
 * - `key`: the key as text (decoded per KEY_TYPE, as ce-key is), or null;
 * - `value`: the value parsed as JSON when it is JSON, else its UTF-8 text; null for a tombstone;
 * - `headers`: header name (lower case) → the last value as UTF-8 text;
 * - `topic`: string; `partition`, `offset`: int; `timestamp`: a CEL timestamp.
 */

/** What an expression must return: a filter's result is a bool, a route's the name of a sink. */
export type ExpressionKind = 'filter' | 'route';

const RESULT_TYPE: Record<ExpressionKind, string> = { filter: 'bool', route: 'string' };

/** The declared variables: an expression naming any other is refused when the configuration is read. */
const ENVIRONMENT = new Environment()
  .registerVariable('key', 'dyn')
  .registerVariable('value', 'dyn')
  .registerVariable('headers', 'map<string, string>')
  .registerVariable('topic', 'string')
  .registerVariable('partition', 'int')
  .registerVariable('offset', 'int')
  .registerVariable('timestamp', 'google.protobuf.Timestamp');

export const CONTEXT_FIELDS = ['key', 'value', 'headers', 'topic', 'partition', 'offset', 'timestamp'] as const;

/** An expression that does not parse or type-check, with where: line and column count from 1. */
export class ExpressionSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${reason} at line ${line}, column ${column}`);
    this.name = 'ExpressionSyntaxError';
  }
}

/** Thrown per record: the expression failed on it (a missing field, a wrong type) or returned the wrong type. */
export class ExpressionEvaluationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExpressionEvaluationError';
  }
}

/** The variables an expression sees of one record. */
export type RecordContext = Record<(typeof CONTEXT_FIELDS)[number], unknown>;

export interface CompiledExpression {
  readonly source: string;
  readonly kind: ExpressionKind;
  /** The result, checked to be of the kind's type; throws ExpressionEvaluationError. */
  evaluate(context: RecordContext): boolean | string;
}

/** Parses and type-checks once; throws ExpressionSyntaxError naming the position. */
export function compileRecordExpression(source: string, kind: ExpressionKind): CompiledExpression {
  let program: ReturnType<Environment['parse']>;
  try {
    program = ENVIRONMENT.parse(source);
  } catch (error) {
    throw syntaxError(source, error);
  }
  const checked = program.check();
  if (!checked.valid) throw syntaxError(source, checked.error);
  const wanted = RESULT_TYPE[kind];
  if (checked.type !== wanted && checked.type !== 'dyn') {
    throw new ExpressionSyntaxError(`a ${kind} must return a ${wanted}, this one returns ${checked.type}`, 1, 1);
  }
  return {
    source,
    kind,
    evaluate(context) {
      let result: unknown;
      try {
        result = program(context);
      } catch (error) {
        throw new ExpressionEvaluationError(summaryOf(error), { cause: error });
      }
      if (typeof result !== (kind === 'filter' ? 'boolean' : 'string')) {
        throw new ExpressionEvaluationError(`the ${kind} returned ${describe(result)}, not a ${wanted}`);
      }
      return result as boolean | string;
    },
  };
}

/**
 * The context of one record. `value` is parsed on first use, once: a filter on headers or the key
 * never parses a body.
 */
export function recordContext(record: KafkaRecord, keyType: KeyType): RecordContext {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const name in record.headers) {
    const text = lastText(record.headers[name]);
    if (text !== undefined) headers[name.toLowerCase()] = text;
  }
  const context = {
    key: record.key === null ? null : decodeKey(record.key, keyType),
    headers,
    topic: record.topic,
    partition: BigInt(record.partition),
    offset: BigInt(record.offset),
    timestamp: new Date(record.timestamp),
  } as RecordContext;
  let value: unknown;
  let parsed = false;
  Object.defineProperty(context, 'value', {
    enumerable: true,
    get() {
      if (!parsed) {
        value = parseValue(record.value);
        parsed = true;
      }
      return value;
    },
  });
  return context;
}

/** JSON when it parses as JSON (numbers are CEL doubles, as in CEL's JSON mapping), else the text. */
export function parseValue(bytes: Buffer | null): unknown {
  if (bytes === null) return null;
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function syntaxError(source: string, error: unknown): ExpressionSyntaxError {
  const start = (error as { range?: { start?: number } }).range?.start ?? 0;
  let line = 1;
  let column = 1;
  for (let i = 0; i < start && i < source.length; i++) {
    if (source[i] === '\n') {
      line++;
      column = 1;
    } else column++;
  }
  return new ExpressionSyntaxError(summaryOf(error), line, column);
}

/** cel-js's message without the source excerpt it appends (the position is said on its own). */
function summaryOf(error: unknown): string {
  const summary = (error as { summary?: unknown }).summary;
  if (typeof summary === 'string') return summary;
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return `the int ${value}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 50))}`;
  return `a ${typeof value === 'object' ? (Array.isArray(value) ? 'list' : 'map') : typeof value}`;
}
