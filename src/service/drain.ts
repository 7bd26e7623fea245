import type { OffsetManager } from '../offsets/offset-manager.js';
import type { Logger } from '../telemetry/logger.js';
import { withTimeout } from '../util/timers.js';
import type { Readiness } from './readiness.js';

export interface StopResult {
  /** Everything in flight finished within the grace period. */
  drained: boolean;
  /** Records received and not finished when the dispatcher stopped (they will be redelivered). */
  unfinished: number;
}

export interface DrainParts {
  readiness: Readiness;
  source: { pauseAll(): void; stop(): Promise<void> };
  scheduler: { readonly queuedOrRunning: number; idle(): Promise<void> };
  offsets: OffsetManager;
  /** Aborted once the grace period is over: whatever still retries stops there. */
  hardStop: AbortController;
  /** Closes what the dispatcher opened besides the consumer (sender, producer, admin, server...). */
  release: () => Promise<void>;
  logger: Logger;
}

/**
 * The stop: stop fetching, let everything already fetched finish within `graceMs`, then stop what
 * still retries, commit, leave the group and close the rest.
 */
export async function drain(parts: DrainParts, graceMs: number): Promise<StopResult> {
  const { readiness, source, scheduler, offsets, logger } = parts;
  readiness.startDraining();
  source.pauseAll();
  // Everything already fetched is finished within the grace period, not just what is in flight:
  // with out-of-order completion (key, unordered) a dropped record would leave a gap that makes the
  // next owner repeat every finished record behind it.
  logger.info({ buffered: scheduler.queuedOrRunning, graceMs }, 'draining');
  const drained = await withTimeout(scheduler.idle(), graceMs).then(
    () => true,
    () => false,
  );
  // Whatever is still retrying stays unfinished: not committed, redelivered to the next owner.
  parts.hardStop.abort();
  offsets.stop();
  await offsets.commit().catch(() => {});
  const unfinished = offsets.unfinished();
  await source.stop().catch((error: unknown) => logger.warn({ err: error }, 'leaving the group failed'));
  await parts.release();
  logger.info({ drained, unfinished }, 'dispatcher stopped');
  return { drained, unfinished };
}
