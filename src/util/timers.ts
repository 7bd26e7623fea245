/**
 * Waiting, with a deadline or until a stop. For promises that take no AbortSignal (kafkajs's
 * connect, the scheduler's idle), so `AbortSignal.timeout` cannot help. Built on the global timers,
 * which tests' fake timers drive (node:timers/promises is not faked).
 */

/**
 * The longest delay a Node timer keeps: a longer one (or Infinity) fires after 1 ms, with a
 * TimeoutOverflowWarning. Every delay here is clamped to it, so a huge computed wait (an exponential
 * backoff after many retries) is a wait of about 24.8 days, never an immediate retry.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** `ms` as setTimeout can keep it: 0 for a past deadline or NaN, at most MAX_TIMER_DELAY_MS. */
export function timerDelay(ms: number): number {
  return ms > 0 ? Math.min(ms, MAX_TIMER_DELAY_MS) : 0;
}

/** What `withTimeout` rejects with when the time is up. */
export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

/**
 * Settles as `promise` does, or rejects with a TimeoutError(`message`) once `ms` have passed (at once
 * when `ms` <= 0). The timer is cleared either way; `promise` itself is not cancelled.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, message = `timed out after ${ms} ms`): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(message)), timerDelay(ms));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves after `ms`, or as soon as `signal` aborts; never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, timerDelay(ms));
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
