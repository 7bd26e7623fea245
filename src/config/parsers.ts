import { z } from 'zod';
import { formatDurationLimit, parseIsoDuration, parseSeconds } from './duration.js';
import { quote } from './echo.js';
import { readBoundedFile } from './read-bounded.js';

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
  /** Append `, got "<text>"` (false for PEM, JSON and secrets; every echo is cut and masked by `quote`). */
  quote?: boolean;
}

/**
 * A text parser: `decode` turns the text into a candidate (undefined: not of that shape; a thrown
 * Error: its message), which the setting's value schema then checks.
 */
export function fromText<V extends z.ZodType>(value: V, decode: (text: string) => unknown, how: FromText): TextSchema<z.output<V>> {
  const got = (text: string) => (how.quote === false ? '' : `, got ${quote(text)}`);
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
/** The message of a refused number, kept on the schema so its text parser can say the same (`expectedOf`). */
const EXPECTED = 'expected';
export const int = (min: number, max?: number) => {
  const error = `must be an integer from ${min}${max === undefined ? '' : ` to ${max}`}`;
  const n = z.number({ error }).int({ error }).min(min, { error });
  return (max === undefined ? n : n.max(max, { error })).meta({ [EXPECTED]: error });
};
export const number = (min: number, max?: number) => {
  const error = max === undefined ? `must be a number ≥ ${min}` : `must be a number from ${min} to ${max}`;
  const n = z.number({ error }).min(min, { error });
  return (max === undefined ? n : n.max(max, { error })).meta({ [EXPECTED]: error });
};
/** What a number schema made by `int` or `number` says when it refuses a value. */
function expectedOf(value: z.ZodType): string {
  return (value.meta()?.[EXPECTED] as string | undefined) ?? 'must be a number';
}

/**
 * The longest any duration may be: Node's timers hold a signed 32-bit count of milliseconds, and a
 * longer delay fires after 1 ms instead (with a TimeoutOverflowWarning), so a request timeout of 25
 * days would time every attempt out at once.
 */
export const TIMER_MAX_MS = 2 ** 31 - 1;

/** Milliseconds, at most `max` (and never more than a timer can wait). */
export const millis = (opts: { positive?: boolean; max: number }) => {
  if (opts.max > TIMER_MAX_MS) throw new Error(`schema: a duration limit of ${opts.max} ms is more than a timer can wait`);
  const tooLong = `must be at most ${formatDurationLimit(opts.max)}`;
  const n = z.number({ error: tooLong }).max(opts.max, { error: tooLong }).int({ error: tooLong });
  const floor = opts.positive ? n.positive({ error: 'must be greater than 0' }) : n.nonnegative({ error: 'must not be negative' });
  return floor.meta({ [MAX_MS]: opts.max });
};
const MAX_MS = 'maxMs';
/** The longest a duration schema made by `millis` allows, undefined for any other schema. */
export function maxMillisOf(value: z.ZodType): number | undefined {
  return value.meta()?.[MAX_MS] as number | undefined;
}
/** Zod's own message for an enum ("Invalid option: expected one of …") names the choices already. */
export const choice = <const T extends readonly [string, ...string[]]>(...values: T) => z.enum(values);
export const httpUrl = z
  .string()
  .refine((text) => /^https?:$/.test(safeUrl(text)?.protocol ?? ''), { error: 'must be an http or https URL' });

/** Kafka's own rule (kafka.common.internals.Topic): these characters, 1 to 249 of them, and not `.` or `..`. */
const TOPIC_RULE = '1 to 249 of a-z A-Z 0-9 . _ -, and not "." or ".."';
export const isLegalTopic = (name: string) => /^[a-zA-Z0-9._-]{1,249}$/.test(name) && name !== '.' && name !== '..';
export const topicName = z.string().refine(isLegalTopic, { error: `must be a Kafka topic name (${TOPIC_RULE})` });
export const topicList = list('topic').superRefine((topics, ctx) => {
  const illegal = topics.find((topic) => !isLegalTopic(topic));
  if (illegal !== undefined) ctx.addIssue({ code: 'custom', message: `topic ${quote(illegal)} is not a Kafka topic name (${TOPIC_RULE})` });
});

/** `host:port`, the host a name, an IPv4 address or a bracketed IPv6 address. */
export const brokerList = list('broker').superRefine((brokers, ctx) => {
  for (const broker of brokers) {
    const problem = brokerProblem(broker);
    if (problem === undefined) continue;
    ctx.addIssue({ code: 'custom', message: `broker ${quote(broker)} ${problem}` });
    return;
  }
});

const HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+(?:%[\w.-]+)?\])$/;

function brokerProblem(broker: string): string | undefined {
  const match = /^(.*):([^:\]]*)$/.exec(broker);
  if (!match) return 'has no port: write host:port (e.g. kafka:9092)';
  const [, host, port] = match as unknown as [string, string, string];
  if (port === '') return 'has no port: write host:port (e.g. kafka:9092)';
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) return `has port ${quote(port)}: a port is a number from 1 to 65535`;
  if (host === '') return 'has an empty host: write host:port (e.g. kafka:9092)';
  if (!HOST.test(host)) return `has host ${quote(host)}, which is no host name or address (IPv6 in brackets: [::1]:9092; no scheme)`;
  return undefined;
}

/**
 * CloudEvent extension attributes. Names as the CloudEvents spec has them (lower-case letters and
 * digits, at most 20), so each is a valid `ce-<name>` header; not a context attribute the event
 * already has, which an extension cannot replace.
 */
const RESERVED_ATTRIBUTES = ['specversion', 'id', 'source', 'type', 'subject', 'time', 'dataschema', 'datacontenttype', 'data'];
/** Set on every event by the dispatcher itself, as Knative's KafkaSource does. */
const DISPATCHER_ATTRIBUTES = ['knativekafkapartition', 'knativekafkaoffset'];
export const extensions = z.record(z.string(), z.string()).superRefine((value, ctx) => {
  for (const name of Object.keys(value)) {
    const problem = !/^[a-z0-9]{1,20}$/.test(name)
      ? 'must be 1-20 lower-case letters or digits (CloudEvents)'
      : RESERVED_ATTRIBUTES.includes(name)
        ? 'is a CloudEvents context attribute, which an extension cannot replace'
        : DISPATCHER_ATTRIBUTES.includes(name)
          ? 'is set by the dispatcher on every event'
          : undefined;
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', message: `extension name ${quote(name)} ${problem}` });
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
    // A refusal names the item at fault: the whole list again would only repeat it.
    { metavar: 'LIST', quote: false },
  );
export const stringText = <V extends z.ZodType>(value: V) => fromText(value, (text) => text.trim(), { metavar: 'TEXT' });
/** A password: like stringText, but a refusal never quotes it. */
export const secretText = <V extends z.ZodType>(value: V) => fromText(value, (text) => text.trim(), { metavar: 'TEXT', quote: false });
/**
 * Whole numbers in decimal digits only: `0x10`, `1e3`, `+5`, `010.0` are refused, never read as 16,
 * 1000, 5 or 10 (JavaScript's Number() would).
 */
export const intText = <V extends z.ZodType>(value: V) =>
  fromText(value, (text) => (/^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined), {
    metavar: 'N',
    expected: `${expectedOf(value)}, in decimal digits`,
  });
/** Decimal numbers (`0.5`, `.5`, `20`); no sign, exponent, hex, `Infinity`. */
export const numberText = <V extends z.ZodType>(value: V) =>
  fromText(value, (text) => (/^(?:\d+(?:\.\d+)?|\.\d+)$/.test(text.trim()) ? Number(text.trim()) : undefined), {
    metavar: 'N',
    expected: `${expectedOf(value)}, in decimal digits`,
  });
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
/** The largest PEM file read: a CA bundle of every public root is about 220 KiB. */
export const PEM_FILE_MAX_BYTES = 1024 * 1024;

/** A file whose contents are the value (PEM certificates and keys), at most PEM_FILE_MAX_BYTES. */
export const fileText = <V extends z.ZodType>(value: V) =>
  fromText(
    value,
    (text) => {
      const read = readBoundedFile(text.trim(), PEM_FILE_MAX_BYTES);
      if ('error' in read) throw new Error(`cannot read file ${quote(text)}: ${read.error}`);
      return read.text;
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
/** K_CE_OVERRIDES: `{"extensions":{"name":"value"}}` as a SinkBinding injects it, and nothing else. */
export const ceOverridesText = <V extends z.ZodType>(value: V) =>
  fromText(
    value,
    (text) => {
      if (!text.trim()) return {};
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error(`must be JSON such as ${CE_OVERRIDES_EXAMPLE}`);
      }
      if (!isPlainObject(parsed)) throw new Error(`must be a JSON object such as ${CE_OVERRIDES_EXAMPLE}, got ${kindOf(parsed)}`);
      const unknown = Object.keys(parsed).find((key) => key !== 'extensions');
      if (unknown !== undefined) {
        throw new Error(`has the key ${quote(unknown)}; the one key is "extensions", as in ${CE_OVERRIDES_EXAMPLE}`);
      }
      return extensionValues(parsed.extensions ?? {});
    },
    { metavar: 'JSON', quote: false },
  );

const CE_OVERRIDES_EXAMPLE = '{"extensions":{"name":"value"}}';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `an array`, `a string`, `null`: what a JSON or YAML value was instead of the expected one. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Extension values as CloudEvent attributes hold them: strings, with numbers and booleans written as
 * text (`{ tier: 2 }` → `{ tier: '2' }`). Throws on anything else (an object would go out as
 * `[object Object]`), naming the extension.
 */
export function extensionValues(object: unknown): Record<string, string> {
  if (!isPlainObject(object)) throw new Error(`"extensions" must be an object of strings, got ${kindOf(object)}`);
  return Object.fromEntries(
    Object.entries(object).map(([name, value]) => {
      if (typeof value === 'string') return [name, value];
      if (typeof value === 'number' || typeof value === 'boolean') return [name, String(value)];
      throw new Error(`extension ${quote(name)} must be a string, got ${kindOf(value)}`);
    }),
  );
}
