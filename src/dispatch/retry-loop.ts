import pRetry, { AbortError } from 'p-retry';
import { SinkResponseError, type DispatchError } from '../errors.js';
import { sleep } from '../util/timers.js';
import { nextRetryDelayMs, type RetryRules } from './retry-policy.js';

/**
 * The one retry loop, for the sink, the dead-letter sink and the `block` policy alike: p-retry runs
 * the attempts, the pure rules (retry-policy.ts) decide whether and when the next one comes.
 */

/** What an attempt came to: done with a value, or a failure carrying at least its error. */
export type AttemptOutcome<T, F extends { error: DispatchError }> = { done: T } | { failed: F };

export interface RetryLoopOptions<T, F extends { error: DispatchError }> {
  /**
   * The failure that starts the loop. The caller makes the first attempt itself: nearly every record
   * goes through at once, and p-retry around every record cost 16 % CPU.
   */
  failed: F;
  /** Makes retry number `retry` (1 = the attempt after `failed`); a failed attempt is returned, not thrown. */
  retry(retry: number): Promise<AttemptOutcome<T, F>>;
  /** Retries allowed after `failed`: Infinity for `block`. */
  retries: number;
  rules: RetryRules;
  /** True when the failure at hand must not be retried whatever the rules say (a record too old). */
  expired?: () => boolean;
  /**
   * Told of failure number `failure` (1 = `failed`) with the wait before the next retry, or undefined
   * when none follows (the last failure; a stop).
   */
  onFailed?(failed: F, failure: number, nextDelayMs: number | undefined): void;
  /** The hard stop: no attempt starts after it and a wait ends at once. */
  signal?: AbortSignal | undefined;
}

/** Retries until an attempt is done, the rules allow no more, or the signal aborts; then the last failure. */
export async function retryLoop<T, F extends { error: DispatchError }>(options: RetryLoopOptions<T, F>): Promise<AttemptOutcome<T, F>> {
  const { signal } = options;
  let last = options.failed;
  let done: { done: T } | undefined;
  let retryNext = false;
  // p-retry calls onFailedAttempt before shouldRetry: the rules are asked once per failure, here, so
  // that the listener hears the wait that is then waited; shouldRetry returns that answer.
  const afterFailure = async (failure: number, retriesLeft: number) => {
    const nextDelayMs = signal?.aborted
      ? undefined
      : nextRetryDelayMs(options.rules, {
          retry: failure,
          retriesLeft,
          retriable: last.error.retriable,
          retryAfterMs: last.error instanceof SinkResponseError ? last.error.retryAfterMs : undefined,
          expired: options.expired?.() ?? false,
        });
    retryNext = nextDelayMs !== undefined;
    options.onFailed?.(last, failure, nextDelayMs);
    if (nextDelayMs) await sleep(nextDelayMs, signal);
  };

  await afterFailure(1, options.retries);
  if (!retryNext || signal?.aborted) return { failed: last };
  try {
    return await pRetry(
      async (attempt) => {
        let outcome: AttemptOutcome<T, F>;
        try {
          outcome = await options.retry(attempt);
        } catch (error) {
          // Not a failed attempt but a bug: out of the loop at once.
          throw new AbortError(error instanceof Error ? error : String(error));
        }
        if ('failed' in outcome) {
          last = outcome.failed;
          throw last.error;
        }
        done = outcome;
        return outcome;
      },
      {
        retries: options.retries - 1,
        // p-retry's own delay formula cannot express linear backoff or Retry-After: the rules' wait is
        // awaited in onFailedAttempt, and p-retry's is 0.
        minTimeout: 0,
        ...(signal ? { signal } : {}),
        // An abort reported as a failure (p-retry checks the signal around attempts) is no attempt of ours.
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) =>
          error === last.error ? afterFailure(attemptNumber + 1, retriesLeft) : undefined,
        shouldRetry: () => retryNext && !signal?.aborted,
      },
    );
  } catch (error) {
    // An attempt that succeeded as the signal aborted still succeeded.
    if (done) return done;
    if (error === last.error || signal?.aborted) return { failed: last };
    throw error;
  }
}
