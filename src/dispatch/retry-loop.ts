import pRetry, { AbortError } from 'p-retry';
import { SinkResponseError, type DispatchError } from '../errors.js';
import { sleep } from '../util/timers.js';
import { nextRetryDelayMs, type RetryRules } from './retry-policy.js';
import type { WaitEnd } from './sink-recovery.js';

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
  /**
   * Where the waits between retries happen (the sink's recovery circuit): a wait can end early
   * because the sink is back, or to make a probe attempt that does not count as a retry. A plain
   * sleep when absent.
   */
  wait?: (ms: number, signal: AbortSignal | undefined) => Promise<WaitEnd>;
  /**
   * Asked after a failure that found the sink unavailable (`unavailable`): 'elapsed' when the sink is
   * up (the failure counts), else a probe or the recovery, after which an attempt is made that does
   * not count. So a sink that is down as a whole costs no record its retries.
   */
  hold?: (signal: AbortSignal | undefined) => Promise<WaitEnd>;
  /** Whether a failure says the sink is unavailable rather than that it refused the record. */
  unavailable?: (failed: F) => boolean;
}

/** Retries until an attempt is done, the rules allow no more, or the signal aborts; then the last failure. */
export async function retryLoop<T, F extends { error: DispatchError }>(options: RetryLoopOptions<T, F>): Promise<AttemptOutcome<T, F>> {
  const { signal } = options;
  let last = options.failed;
  let done: { done: T } | undefined;
  let retryNext = false;
  /** The failures thrown to p-retry, told apart from bugs when it rejects with one. */
  const failures = new WeakSet<DispatchError>();
  // p-retry calls onFailedAttempt before shouldRetry: the rules are asked once per failure, here, so
  // that the listener hears the wait that is then waited; shouldRetry returns that answer.
  const afterFailure = async (failure: number, retriesLeft: number) => {
    await holdWhileUnavailable(failure);
    if (done) return;
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
    if (nextDelayMs) await waitOrProbe(nextDelayMs, failure);
  };
  // The failure is not counted while the sink is down: attempts go as probes or on its recovery.
  const holdWhileUnavailable = async (failure: number) => {
    const { hold, unavailable } = options;
    if (!hold || !unavailable) return;
    while (unavailable(last) && !signal?.aborted && !(options.expired?.() ?? false)) {
      const end = await hold(signal);
      if (end === 'elapsed' || end === 'aborted') return;
      const attempt = await retryOrBail(failure);
      if ('done' in attempt) {
        done = attempt;
        retryNext = false;
        return;
      }
      last = attempt.failed;
    }
  };
  // A probe that gets through ends the loop; one that fails leaves the rest of the wait to wait (the
  // circuit's wait goes on past it while the sink is down).
  const waitOrProbe = async (delayMs: number, failure: number) => {
    if (!options.wait) return sleep(delayMs, signal);
    const until = performance.now() + delayMs;
    for (;;) {
      if ((await options.wait(Math.max(0, until - performance.now()), signal)) !== 'probe') return;
      const probe = await retryOrBail(failure);
      if ('done' in probe) {
        done = probe;
        retryNext = false;
        return;
      }
      last = probe.failed;
      if (!last.error.retriable && !options.rules.retryFinal) {
        retryNext = false;
        return;
      }
    }
  };
  /** One retry (or probe); a throw is not a failed attempt but a bug: out of the loop at once. */
  const retryOrBail = async (retry: number): Promise<AttemptOutcome<T, F>> => {
    try {
      return await options.retry(retry);
    } catch (error) {
      throw new AbortError(error instanceof Error ? error : String(error));
    }
  };

  await afterFailure(1, options.retries);
  if (done) return done;
  if (!retryNext || signal?.aborted) return { failed: last };
  try {
    return await pRetry(
      async (attempt) => {
        const outcome = await retryOrBail(attempt);
        if ('failed' in outcome) {
          last = outcome.failed;
          failures.add(last.error);
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
          failures.has(error as DispatchError) ? afterFailure(attemptNumber + 1, retriesLeft) : undefined,
        shouldRetry: () => retryNext && !signal?.aborted,
      },
    );
  } catch (error) {
    // An attempt that succeeded as the signal aborted still succeeded.
    if (done) return done;
    if (failures.has(error as DispatchError) || signal?.aborted) return { failed: last };
    throw error;
  }
}
