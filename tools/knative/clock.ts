/**
 * Scenario time for the emulated service: it runs `speed` times faster than real time (speed 10: a
 * 100 s scenario in 10 s). Every duration handed to the clock is in scenario milliseconds.
 */
import { performance } from 'node:perf_hooks';

export interface Clock {
  readonly speed: number;
  /** Scenario milliseconds since the clock was created. */
  now(): number;
  /** Real milliseconds a scenario duration takes. */
  toRealMs(scenarioMs: number): number;
  setTimeout(fn: () => void, scenarioMs: number): NodeJS.Timeout;
  setInterval(fn: () => void, scenarioMs: number): NodeJS.Timeout;
  /** Resolves after `scenarioMs`; rejects with the signal's reason when it aborts first. */
  sleep(scenarioMs: number, signal?: AbortSignal): Promise<void>;
}

export function createClock(speed = 1): Clock {
  if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`speed must be a positive number, got ${speed}`);
  const start = performance.now();
  const toRealMs = (ms: number) => Math.max(0, ms) / speed;
  return {
    speed,
    now: () => (performance.now() - start) * speed,
    toRealMs,
    setTimeout: (fn, ms) => setTimeout(fn, toRealMs(ms)),
    setInterval: (fn, ms) => setInterval(fn, Math.max(1, toRealMs(ms))),
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason as Error);
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal!.reason as Error);
        };
        const timer = setTimeout(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, toRealMs(ms));
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
  };
}
