import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseIsoDuration, parseSeconds } from './duration.js';

/**
 * The zod building blocks of the configuration schema (src/config/schema.ts).
 *
 * A setting has a *value schema*: the type and the constraints of its resolved value (`int(1, 100_000)`,
 * `choice('ordered', 'unordered', 'key')`). An option has a *text parser*: a zod schema from the text
 * of an environment variable, flag or annotation to that value. Every text parser is made from the
 * setting's value schema, so the constraints live in one place, and every message it gives quotes the
 * text it refused.
 */

/** Text (an env variable, a flag, an annotation) → a setting's value. */
export type TextSchema<T> = z.ZodType<T, string>;
/** What a text parser is made of: the setting's value schema. */
export type TextFactory<V extends z.ZodType> = (value: V) => TextSchema<z.output<V>>;

interface FromText {
  /** Shown in `--help`: `--request-timeout DURATION`. */
  metavar: string;
  /** The message when `decode` finds no candidate (returns undefined). */
  expected?: string;
  /** Use `expected` for every failure, the value schema's own message never. */
  oneMessage?: boolean;
  /** Append `, got "<text>"` (false for PEM and JSON, which may be long or secret). */
  quote?: boolean;
}

/**
 * A text parser: `decode` turns the text into a candidate (undefined: not of that shape; a thrown
 * Error: its message), which the setting's value schema then checks.
 */
export function fromText<V extends z.ZodType>(value: V, decode: (text: string) => unknown, how: FromText): TextSchema<z.output<V>> {
  const got = (text: string) => (how.quote === false ? '' : `, got "${text}"`);
  return z
    .string()
    .transform((text, ctx): z.output<V> => {
      let candidate: unknown;
      try {
        candidate = decode(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
      const checked = candidate === undefined ? undefined : value.safeParse(candidate);
      if (!checked?.success) {
        const message = checked && !how.oneMessage ? checked.error.issues[0]!.message : (how.expected ?? 'is not valid');
        ctx.addIssue({ code: 'custom', message: `${message}${got(text)}` });
        return z.NEVER;
      }
      return checked.data as z.output<V>;
    })
    .meta({ metavar: how.metavar });
}

/** The metavar a text parser was made with. */
export function metavarOf(text: z.ZodType): string {
  return (text.meta()?.metavar as string | undefined) ?? 'VALUE';
}

/** `{ value }` or `{ error }`, the first issue's message. */
export function parseText<T>(text: TextSchema<T>, input: string): { value: T } | { error: string } {
  const result = text.safeParse(input);
  return result.success ? { value: result.data } : { error: result.error.issues[0]!.message };
}

// ---- value schemas ----

/** A non-empty list, e.g. brokers or topics. */
export const list = (what: string) => z.array(z.string().min(1)).min(1, { error: `must name at least one ${what}` });
export const nonEmpty = z.string().min(1, { error: 'must not be empty' });
export const int = (min: number, max?: number) => {
  const error = `must be an integer from ${min}${max === undefined ? '' : ` to ${max}`}`;
  const n = z.number({ error }).int({ error }).min(min, { error });
  return max === undefined ? n : n.max(max, { error });
};
export const number = (min: number, max?: number) => {
  const error = max === undefined ? `must be a number ≥ ${min}` : `must be a number from ${min} to ${max}`;
  const n = z.number({ error }).min(min, { error });
  return max === undefined ? n : n.max(max, { error });
};
/** Milliseconds. */
export const millis = (opts: { positive?: boolean } = {}) =>
  opts.positive
    ? z.number().int().positive({ error: 'must be greater than 0' })
    : z.number().int().nonnegative({ error: 'must not be negative' });
/** Zod's own message for an enum ("Invalid option: expected one of …") names the choices already. */
export const choice = <const T extends readonly [string, ...string[]]>(...values: T) => z.enum(values);
export const httpUrl = z
  .string()
  .refine((text) => /^https?:$/.test(safeUrl(text)?.protocol ?? ''), { error: 'must be an http or https URL' });
export const topicName = z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, { error: 'must be a Kafka topic name ([a-zA-Z0-9._-], at most 249)' });
/** CloudEvent extension attributes: lower-case names of at most 20 letters or digits. */
export const extensions = z.record(z.string(), z.string()).superRefine((value, ctx) => {
  for (const name of Object.keys(value)) {
    if (!/^[a-z0-9]{1,20}$/.test(name)) {
      ctx.addIssue({ code: 'custom', message: `extension name "${name}" must be 1-20 lower-case letters or digits (CloudEvents)` });
      return;
    }
  }
});

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

// ---- text parsers, one per kind of value ----

/** Comma-separated. */
export const listText = <V extends z.ZodType>(value: V) =>
  fromText(
    value,
    (text) =>
      text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    { metavar: 'LIST' },
  );
export const stringText = <V extends z.ZodType>(value: V) => fromText(value, (text) => text.trim(), { metavar: 'TEXT' });
/** Integers and decimals; blank text is no number. */
export const numberText = <V extends z.ZodType>(value: V) =>
  fromText(value, (text) => (text.trim() === '' ? NaN : Number(text.trim())), { metavar: 'N' });
/** Seconds (`2`, `0.5`) or ISO-8601 (`PT2S`) → milliseconds. */
export const durationText = <V extends z.ZodType>(value: V) =>
  fromText(value, (text) => parseSeconds(text) ?? parseIsoDuration(text), {
    metavar: 'DURATION',
    expected: 'must be seconds (e.g. 2 or 0.5) or an ISO-8601 duration (e.g. PT0.5S)',
  });
/** Case-insensitive. */
export const choiceText = <V extends z.ZodEnum>(value: V) =>
  fromText(value, (text) => text.trim().toLowerCase(), {
    metavar: value.options.join('|'),
    expected: `must be one of ${value.options.join(', ')}`,
    oneMessage: true,
  });
export const boolText = <V extends z.ZodType>(value: V) =>
  fromText(
    value,
    (text) => {
      const v = text.trim().toLowerCase();
      return ['true', '1', 'yes', 'on'].includes(v) ? true : ['false', '0', 'no', 'off'].includes(v) ? false : undefined;
    },
    { metavar: 'true|false', expected: 'must be true or false' },
  );
/** An absolute URL, normalised (`http://x` → `http://x/`). */
export const urlText = <V extends z.ZodType>(value: V) =>
  fromText(value, (text) => safeUrl(text.trim())?.toString(), { metavar: 'URL', expected: 'must be an absolute http(s) URL' });
/** A file whose contents are the value (PEM certificates and keys). */
export const fileText = <V extends z.ZodType>(value: V) =>
  fromText(
    value,
    (text) => {
      try {
        return readFileSync(text.trim(), 'utf8');
      } catch (error) {
        throw new Error(`cannot read file "${text}": ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
          cause: error,
        });
      }
    },
    { metavar: 'FILE' },
  );
/** PEM text itself, as a SinkBinding injects K_CA_CERTS. */
export const pemText = <V extends z.ZodType>(value: V) =>
  fromText(
    value,
    (text) => {
      if (!text.includes('-----BEGIN')) throw new Error('must hold PEM certificates (-----BEGIN CERTIFICATE-----)');
      return text;
    },
    { metavar: 'PEM', quote: false },
  );
/** K_CE_OVERRIDES: `{"extensions":{"name":"value"}}` as a SinkBinding injects it. */
export const ceOverridesText = <V extends z.ZodType>(value: V) =>
  fromText(
    value,
    (text) => {
      if (!text.trim()) return {};
      let parsed: { extensions?: unknown };
      try {
        parsed = JSON.parse(text) as { extensions?: unknown };
      } catch {
        throw new Error('must be JSON such as {"extensions":{"name":"value"}}');
      }
      return stringValues(parsed?.extensions ?? {});
    },
    { metavar: 'JSON', quote: false },
  );

/** `{ a: 1 }` → `{ a: '1' }`, as CloudEvent attributes are strings; throws when not an object. */
export function stringValues(object: unknown): Record<string, string> {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) throw new Error('extensions must be an object of strings');
  return Object.fromEntries(Object.entries(object).map(([name, value]) => [name, String(value)]));
}
