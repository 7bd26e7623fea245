import type { OffsetManager } from '../offsets/offset-manager.js';
import type { Logger } from '../telemetry/logger.js';
import { withTimeout } from '../util/timers.js';
import type { Readiness } from './readiness.js';

export interface StopResult {
  /** Everything that had started finished within the grace period. */
  drained: boolean;
  /** Records received and not finished when the dispatcher stopped (they will be redelivered). */
  unfinished: number;
}

export interface DrainParts {
  readiness: Readiness;
  source: { pauseAll(): void; stop(): Promise<void> };
  scheduler: { readonly queuedOrRunning: number; keepOnlyGapFillers(): number; idle(): Promise<void> };
  offsets: OffsetManager;
  /** Aborted once the grace period is over: whatever still retries stops there. */
  hardStop: AbortController;
  /** Aborts the HTTP requests still in flight. */
  abortRequests: () => Promise<void>;
  /** Closes what the dispatcher opened besides the consumer (sender, producer, admin, server...). */
  release: () => Promise<void>;
  logger: Logger;
}

/** Of the grace period, what is kept back for the commit, leaving the group and closing. */
export function closingReserveMs(graceMs: number): number {
  return Math.min(5000, Math.floor(graceMs / 4));
}

/**
 * The stop, always within `graceMs`: stop fetching; let what has started finish (and, in `key` and
 * `unordered` modes, the queued records below it, so the commit reaches past all of it); at the
 * end of the grace less a closing reserve, abort what still runs; then commit, leave the group and
 * close, each bounded by what is left.
 *
 * Records queued behind everything that started are not sent at all: nothing has delivered them,
 * the next owner delivers them once. So a stop that drains in time causes no duplicates; one that
 * does not redelivers the aborted records and the finished ones behind them in their partitions.
 */
export async function drain(parts: DrainParts, graceMs: number): Promise<StopResult> {
  const { readiness, source, scheduler, offsets, logger } = parts;
  const deadline = performance.now() + graceMs;
  const left = () => Math.max(0, deadline - performance.now());
  readiness.startDraining();
  source.pauseAll();
  const forgotten = scheduler.keepOnlyGapFillers();
  logger.info({ finishing: scheduler.queuedOrRunning, notSent: forgotten, graceMs }, 'draining');
  const drained = await withTimeout(scheduler.idle(), left() - closingReserveMs(graceMs)).then(
    () => true,
    () => false,
  );
  // Whatever still runs stays unfinished: not committed, redelivered to the next owner.
  parts.hardStop.abort();
  if (!drained) {
    await parts.abortRequests().catch(() => {});
    // The aborted attempts report back at once; give them a moment so the commit sees them settled.
    await withTimeout(scheduler.idle(), Math.min(500, left() / 4)).catch(() => {});
  }
  offsets.stop();
  await withTimeout(offsets.commit(), left() / 2).catch((error: unknown) => logger.warn({ err: error }, 'final commit failed'));
  const unfinished = offsets.unfinished();
  await withTimeout(source.stop(), left() / 2).catch((error: unknown) => logger.warn({ err: error }, 'leaving the group failed'));
  await withTimeout(parts.release(), left()).catch((error: unknown) => logger.warn({ err: error }, 'closing connections failed'));
  logger.info({ drained, unfinished }, 'dispatcher stopped');
  return { drained, unfinished };
}
