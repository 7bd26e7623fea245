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
      return baseMs * 2 ** retry;
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
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export interface RetryDelayInput {
  policy: BackoffPolicy;
  baseMs: number;
  retry: number;
  retryAfterMs?: number | undefined;
  /** Cap on what a Retry-After header can ask for. */
  maxRetryAfterMs?: number;
}

/** The larger of the backoff delay and the sink's Retry-After (capped). */
export function retryDelayMs(input: RetryDelayInput): number {
  const backoff = backoffDelayMs(input.policy, input.baseMs, input.retry);
  if (input.retryAfterMs === undefined) return backoff;
  return Math.max(backoff, Math.min(input.retryAfterMs, input.maxRetryAfterMs ?? Number.POSITIVE_INFINITY));
}
