import type { OffsetManager } from '../offsets/offset-manager.js';
import type { KafkaSourceHandlers } from '../source/kafka-source.js';
import type { Logger } from '../telemetry/logger.js';
import { withTimeout } from '../util/timers.js';
import type { Readiness } from './readiness.js';

export interface RebalanceParts {
  offsets: OffsetManager;
  scheduler: {
    /** Forgets the queued records of a partition this member lost. */
    dropPartition(topic: string, partition: number): unknown;
    hold(): void;
    release(): void;
    readonly running: number;
    noneRunning(): Promise<void>;
  };
  readiness: Readiness;
  rebalances: { inc(): void };
  logger: Logger;
  /**
   * Longest a rejoin waits for the requests in flight. Heartbeats stop while it waits, so it stays
   * well inside the session timeout.
   */
  holdLimitMs: number;
}

/** What a rejoin waits for at most: two thirds of the session timeout. */
export function rejoinHoldLimitMs(sessionTimeoutMs: number): number {
  return Math.floor((sessionTimeoutMs * 2) / 3);
}

/**
 * What the group's events mean for the parts. Before a rejoin (kafkajs's eager protocol may move
 * any partition): start nothing new, let what is in flight finish within the hold limit, commit, and
 * only then join, so the next owner of a partition starts behind everything this member sent. A
 * join: forget the queued records and offsets of the partitions lost, so nothing is committed over
 * the new owner's progress, and start again. A crash: not ready until the consumer rejoins.
 */
export function rebalanceHandlers(
  parts: RebalanceParts,
): Required<Pick<KafkaSourceHandlers, 'onRebalancing' | 'beforeRejoin' | 'onAssignment' | 'onCrash'>> {
  const { offsets, scheduler, readiness, logger } = parts;
  return {
    onRebalancing: () => parts.rebalances.inc(),
    beforeRejoin: async () => {
      scheduler.hold();
      const inFlight = scheduler.running;
      const started = performance.now();
      const settled = await withTimeout(scheduler.noneRunning(), parts.holdLimitMs).then(
        () => true,
        () => false,
      );
      await offsets.commit().catch(() => {});
      const waitedMs = Math.round(performance.now() - started);
      if (settled) logger.info({ inFlight, waitedMs }, 'rebalance: in-flight records finished and committed; rejoining');
      else
        logger.warn(
          { inFlight, stillRunning: scheduler.running, waitedMs },
          'rebalance: records still in flight at the hold limit; rejoining (their partitions may be redelivered out of order)',
        );
    },
    onAssignment: (assigned, revoked) => {
      for (const tp of revoked) for (const p of tp.partitions) scheduler.dropPartition(tp.topic, p);
      offsets.forget(revoked.flatMap((tp) => tp.partitions.map((partition) => ({ topic: tp.topic, partition }))));
      readiness.joinedGroup();
      scheduler.release();
      logger.info({ assigned, revoked }, 'joined group');
    },
    onCrash: (error, restarting) => {
      readiness.crashed(error);
      // A crashed member rejoins (or the process exits): nothing held back waits for a join that may not come.
      scheduler.release();
      logger.error({ err: error, restarting }, 'kafka consumer crashed');
    },
  };
}
