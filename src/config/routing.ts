import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { compileRecordExpression, ExpressionSyntaxError, type ExpressionKind } from '../dispatch/record-expression.js';
import { quote } from './echo.js';
import { fromText, kindOf, parseText, type TextSchema } from './parsers.js';

/**
 * The value schemas and text parsers of FILTER, ROUTE and SINKS (src/config/schema.ts). A CEL
 * expression is compiled when it is read, so a syntax error is a configuration error with its
 * position; SINKS fields are read with the text parsers of the single-sink settings they mirror.
 */

/** A CEL expression that compiles as a filter (a bool) or a route (a string). */
export const celExpression = (kind: ExpressionKind) =>
  z
    .string()
    .min(1, { error: 'must not be empty' })
    .superRefine((source, ctx) => {
      try {
        compileRecordExpression(source, kind);
      } catch (error) {
        const where = error instanceof ExpressionSyntaxError ? error.message : (error as Error).message;
        ctx.addIssue({ code: 'custom', message: `is not a valid CEL ${kind}: ${where}, in ${quote(source)}` });
      }
    });

/** The expression's text as given, trimmed; the value schema's message already quotes it. */
export const expressionText = <V extends z.ZodType>(value: V) => fromText(value, (text) => text.trim(), { metavar: 'CEL', quote: false });

/** A name a route returns and the metrics' `sink` label shows: `default` is K_SINK's. */
const SINK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const RESERVED_SINK_NAME = 'default';
const SINK_NAME_RULE = `1 to 63 of A-Z a-z 0-9 . _ - starting with a letter or digit, and not "${RESERVED_SINK_NAME}" (K_SINK's own name)`;
const isSinkName = (name: string) => SINK_NAME.test(name) && name !== RESERVED_SINK_NAME;

/** The fields of one named sink, each read like the single-sink option it mirrors (in brackets). */
export interface SinkFieldParsers {
  /** K_SINK */
  uri: TextSchema<string>;
  /** SINK_HOST_HEADER */
  host: TextSchema<string>;
  /** REQUEST_TIMEOUT */
  timeout: TextSchema<number>;
  /** RETRY_COUNT */
  retry: TextSchema<number>;
  /** BACKOFF_POLICY */
  backoffPolicy: TextSchema<'exponential' | 'linear' | 'fixed'>;
  /** BACKOFF_DELAY */
  backoffDelay: TextSchema<number>;
  /** DEAD_LETTER_SINK */
  deadLetterSink: TextSchema<string>;
}

/** Where each SINKS field lands in the resolved value. */
const FIELD_KEYS = {
  uri: 'uri',
  host: 'host',
  timeout: 'requestTimeoutMs',
  retry: 'retry',
  backoffPolicy: 'backoffPolicy',
  backoffDelay: 'backoffDelayMs',
  deadLetterSink: 'deadLetterSinkUri',
} as const;

/** One named sink, resolved; a field left out takes the process-wide setting's value (host: the URI's). */
export interface NamedSink {
  uri: string;
  host?: string | undefined;
  requestTimeoutMs?: number | undefined;
  retry?: number | undefined;
  backoffPolicy?: 'exponential' | 'linear' | 'fixed' | undefined;
  backoffDelayMs?: number | undefined;
  deadLetterSinkUri?: string | undefined;
}

/** The resolved SINKS: name → sink. */
export const namedSinks = (value: {
  uri: z.ZodType<string>;
  host: z.ZodType<string>;
  requestTimeoutMs: z.ZodType<number>;
  retry: z.ZodType<number>;
  backoffPolicy: z.ZodType<'exponential' | 'linear' | 'fixed'>;
  backoffDelayMs: z.ZodType<number>;
  deadLetterSinkUri: z.ZodType<string>;
}) =>
  z
    .record(
      z.string().refine(isSinkName, { error: `a sink name is ${SINK_NAME_RULE}` }),
      z.strictObject({
        uri: value.uri,
        host: value.host.optional(),
        requestTimeoutMs: value.requestTimeoutMs.optional(),
        retry: value.retry.optional(),
        backoffPolicy: value.backoffPolicy.optional(),
        backoffDelayMs: value.backoffDelayMs.optional(),
        deadLetterSinkUri: value.deadLetterSinkUri.optional(),
      }),
    )
    .refine((sinks) => Object.keys(sinks).length > 0, { error: 'must name at least one sink' });

export const SINKS_EXAMPLE = '{"resnet":{"uri":"http://resnet-predictor.models.svc.cluster.local/v1/models/resnet:predict"}}';

/**
 * SINKS: a JSON or YAML map `name → {uri, host?, timeout?, retry?, backoffPolicy?, backoffDelay?,
 * deadLetterSink?}`. Each field is text (or a number) read by the parser of the option it mirrors,
 * so `timeout: 30`, `timeout: PT30S` and REQUEST_TIMEOUT=30 mean the same; a refusal names the sink
 * and the field.
 */
export const sinksText =
  (fields: SinkFieldParsers) =>
  <V extends z.ZodType>(value: V) =>
    fromText(
      value,
      (text) => {
        let parsed: unknown;
        try {
          parsed = parseYaml(text);
        } catch (error) {
          throw new Error(`must be a JSON or YAML map of sinks such as ${SINKS_EXAMPLE}: ${(error as Error).message.split('\n')[0]}`, {
            cause: error,
          });
        }
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          throw new Error(`must be a JSON or YAML map of sinks such as ${SINKS_EXAMPLE}, got ${kindOf(parsed)}`);
        }
        const out: Record<string, Record<string, unknown>> = {};
        for (const [name, sink] of Object.entries(parsed)) {
          if (!isSinkName(name)) throw new Error(`sink name ${quote(name)}: ${SINK_NAME_RULE}`);
          if (typeof sink === 'string') {
            // `name: <uri>`, the short form of a sink with nothing but its address.
            out[name] = { uri: field(name, 'uri', sink, fields.uri) };
            continue;
          }
          if (typeof sink !== 'object' || sink === null || Array.isArray(sink)) {
            throw new Error(`sink ${quote(name)} must be a map with at least "uri" (or the URI itself), got ${kindOf(sink)}`);
          }
          const resolved: Record<string, unknown> = {};
          for (const [key, given] of Object.entries(sink as Record<string, unknown>)) {
            if (!(key in FIELD_KEYS)) {
              throw new Error(`sink ${quote(name)} has the field ${quote(key)}; the fields are ${Object.keys(FIELD_KEYS).join(', ')}`);
            }
            const fieldName = key as keyof SinkFieldParsers;
            resolved[FIELD_KEYS[fieldName]] = field(name, fieldName, given, fields[fieldName]);
          }
          if (resolved.uri === undefined) throw new Error(`sink ${quote(name)} has no "uri"`);
          out[name] = resolved;
        }
        return out;
      },
      { metavar: 'JSON|YAML', quote: false },
    );

function field(sink: string, name: string, given: unknown, parser: TextSchema<unknown>): unknown {
  if (typeof given !== 'string' && typeof given !== 'number') {
    throw new Error(`sink ${quote(sink)} field "${name}" must be text or a number, got ${kindOf(given)}`);
  }
  const parsed = parseText(parser, String(given));
  if ('error' in parsed) throw new Error(`sink ${quote(sink)} field "${name}" ${parsed.error}`);
  return parsed.value;
}
