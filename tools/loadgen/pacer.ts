import type { Schedule } from './shapes.js';

/** Time for the pacer: real in the command, fake in the tests. */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Resolves after `ms` (at once when ms ≤ 0), or early when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (ms <= 0 || signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    }),
};

export interface PacerOptions {
  schedule: Schedule;
  /** Sends messages first … first + count − 1 as one request; resolves on the broker's ack. */
  send(first: number, count: number): Promise<void>;
  clock?: Clock;
  /** Messages due within one tick go out together (default 10 ms). */
  tickMs?: number;
  /** Requests awaiting an ack at once; when reached, the pacer waits for one (default 16). */
  maxInFlight?: number;
  /** At most this many messages in one request (default 500). */
  maxBatch?: number;
  signal?: AbortSignal;
}

export interface PacerResult {
  /** Messages handed to send (acked or failed). */
  issued: number;
  /** ms from the start to the last request's settlement (or the schedule's end, when later). */
  elapsedMs: number;
  /** The worst delay of a request after its first message's scheduled time. */
  maxLateMs: number;
  aborted: boolean;
}

/**
 * Sends the schedule: wakes on a tick grid anchored at the start, sends every message due by then
 * (split into requests of at most maxBatch), keeps at most maxInFlight requests unacknowledged, and
 * waits for every request before resolving. A failed send is the caller's to count: the pacer goes on.
 */
export async function runPacer(options: PacerOptions): Promise<PacerResult> {
  const clock = options.clock ?? realClock;
  const tickMs = options.tickMs ?? 10;
  const maxInFlight = options.maxInFlight ?? 16;
  const maxBatch = options.maxBatch ?? 500;
  const { schedule, signal } = options;
  const inFlight = new Set<Promise<void>>();
  const start = clock.now();
  let issued = 0;
  let maxLateMs = 0;
  let lastSettled = start;

  const launch = (first: number, count: number) => {
    const request: Promise<void> = options
      .send(first, count)
      .catch(() => {})
      .finally(() => {
        inFlight.delete(request);
        lastSettled = Math.max(lastSettled, clock.now());
      });
    inFlight.add(request);
  };

  while (issued < schedule.total && !signal?.aborted) {
    // Wake at the next tick at or after the next message's time; the grid comes from the start.
    const dueAt = schedule.timeOf(issued);
    const wakeAt = Math.ceil(dueAt / tickMs - 1e-9) * tickMs;
    const elapsed = clock.now() - start;
    if (wakeAt > elapsed) {
      await clock.sleep(wakeAt - elapsed, signal);
      if (signal?.aborted) break;
    }
    const now = clock.now() - start;
    const due = Math.min(schedule.total, schedule.dueBy(now));
    // Rounding put the wake-up a hair before the message's time: try again one tick later.
    if (due <= issued) await clock.sleep(tickMs, signal);
    while (issued < due && !signal?.aborted) {
      if (inFlight.size >= maxInFlight) {
        await Promise.race(inFlight);
        continue;
      }
      const count = Math.min(maxBatch, due - issued);
      maxLateMs = Math.max(maxLateMs, clock.now() - start - schedule.timeOf(issued));
      launch(issued, count);
      issued += count;
    }
  }
  await Promise.all(inFlight);
  const aborted = signal?.aborted ?? false;
  const end = aborted ? clock.now() : Math.max(lastSettled, start + schedule.durationMs);
  return { issued, elapsedMs: end - start, maxLateMs, aborted };
}
