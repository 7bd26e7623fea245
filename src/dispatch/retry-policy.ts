import type { BackoffPolicy } from '../config/settings.js';

/**
 * Pure retry decisions and delays. One place decides what is retried and how long to wait, so the
 * exact sequences (exponential, linear, fixed, Retry-After) are testable with tables.
 */

export function isSuccessStatus(status: number): boolean {
  return status >= 200 && status < 300;
}

/** Knative's list: 5xx, 404, 408, 409 and 429 are worth another try; other failures are final. */
export function isRetriableStatus(status: number): boolean {
  return status >= 500 || status === 404 || status === 408 || status === 409 || status === 429;
}

/** The delay before retry number `retry` (1 for the first retry). */
export function backoffDelayMs(policy: BackoffPolicy, baseMs: number, retry: number): number {
  switch (policy) {
    case 'exponential':
      // 2 ** retry overflows to Infinity after 1023 retries (block retries forever): 0 × Infinity is NaN.
      return baseMs === 0 ? 0 : baseMs * 2 ** retry;
    case 'linear':
      return baseMs * retry;
    case 'fixed':
      return baseMs;
  }
}

/** `Retry-After` as seconds or an HTTP date → milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = parseHttpDate(trimmed);
  return date === undefined ? undefined : Math.max(0, date - now);
}

const MONTHS = 'Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec';
const IMF_FIXDATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) (${MONTHS}) (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
const RFC850 = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-(${MONTHS})-(\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`,
);
const ASCTIME = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (${MONTHS}) ([ \\d]\\d) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})$`);

/** The three HTTP-date forms of RFC 9110 §5.6.7, all in GMT; anything else is not a date. */
export function parseHttpDate(text: string): number | undefined {
  const month = (name: string) => MONTHS.split('|').indexOf(name);
  let m = IMF_FIXDATE.exec(text);
  if (m) return Date.UTC(Number(m[3]), month(m[2]!), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = RFC850.exec(text);
  if (m) {
    // Two-digit years: RFC 9110 says a year that looks more than 50 years ahead is in the past.
    const thisYear = new Date().getUTCFullYear();
    let year = 2000 + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    return Date.UTC(year, month(m[2]!), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = ASCTIME.exec(text);
  if (m) return Date.UTC(Number(m[6]), month(m[1]!), Number(m[2]!.trim()), Number(m[3]), Number(m[4]), Number(m[5]));
  return undefined;
}

export interface RetryDelayInput {
  policy: BackoffPolicy;
  baseMs: number;
  retry: number;
  retryAfterMs?: number | undefined;
  /** Cap on what a Retry-After header can ask for. */
  maxRetryAfterMs?: number;
  /** ± fraction applied to the backoff delay (never to Retry-After: the sink said when). */
  jitter?: number;
  random?: () => number;
}

/** The larger of the (jittered) backoff delay and the sink's Retry-After (capped). */
export function retryDelayMs(input: RetryDelayInput): number {
  const backoff = applyJitter(backoffDelayMs(input.policy, input.baseMs, input.retry), input.jitter ?? 0, input.random);
  if (input.retryAfterMs === undefined) return backoff;
  return Math.max(backoff, Math.min(input.retryAfterMs, input.maxRetryAfterMs ?? Number.POSITIVE_INFINITY));
}

/** Spreads a delay over [delay × (1 − jitter), delay × (1 + jitter)] so retries of many records don't stampede. */
export function applyJitter(delayMs: number, jitter: number, random: () => number = Math.random): number {
  if (jitter <= 0) return delayMs;
  return Math.max(0, Math.round(delayMs * (1 + jitter * (2 * random() - 1))));
}

/**
 * How one retry loop (src/dispatch/retry-loop.ts) decides and waits: the same rules for the sink,
 * the dead-letter sink and the `block` policy, which differ only in these fields.
 */
export interface RetryRules {
  policy: BackoffPolicy;
  baseMs: number;
  /** ± fraction applied to backoff delays. */
  jitter?: number;
  /** Cap on what a Retry-After header can ask for. */
  maxRetryAfterMs?: number;
  /** Cap on every wait (`block`: maxBackoffMs). */
  maxDelayMs?: number;
  /** Final errors are retried too (`block`: nothing is dropped, whatever the status says). */
  retryFinal?: boolean;
}

/** A failed attempt, as the rules see it. */
export interface FailedAttempt {
  /** The retry that would follow: 1 after the first failure. */
  retry: number;
  /** Retries still allowed (Infinity for `block`). */
  retriesLeft: number;
  retriable: boolean;
  /** What the failure's Retry-After header asked for. */
  retryAfterMs?: number | undefined;
  /** The record is past its maximum age: it goes to the dead letter instead of being retried. */
  expired?: boolean;
}

/** The wait before the next retry, or undefined when there is none. */
export function nextRetryDelayMs(rules: RetryRules, failed: FailedAttempt, random?: () => number): number | undefined {
  if (failed.retriesLeft <= 0 || failed.expired) return undefined;
  if (!failed.retriable && !rules.retryFinal) return undefined;
  const delay = retryDelayMs({
    policy: rules.policy,
    baseMs: rules.baseMs,
    retry: failed.retry,
    retryAfterMs: failed.retryAfterMs,
    maxRetryAfterMs: rules.maxRetryAfterMs ?? Number.POSITIVE_INFINITY,
    jitter: rules.jitter ?? 0,
    ...(random ? { random } : {}),
  });
  return Math.min(delay, rules.maxDelayMs ?? Number.POSITIVE_INFINITY);
}
