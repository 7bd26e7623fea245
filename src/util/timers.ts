/**
 * Waiting, with a deadline or until a stop. For promises that take no AbortSignal (kafkajs's
 * connect, the scheduler's idle), so `AbortSignal.timeout` cannot help. Built on the global timers,
 * which tests' fake timers drive (node:timers/promises is not faked).
 */

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
    timer = setTimeout(() => reject(new TimeoutError(message)), Math.max(0, ms));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves after `ms`, or as soon as `signal` aborts; never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
