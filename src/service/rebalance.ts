import type { OffsetManager } from '../offsets/offset-manager.js';
import type { KafkaSourceHandlers } from '../source/kafka-source.js';
import type { Logger } from '../telemetry/logger.js';
import type { Readiness } from './readiness.js';

export interface RebalanceParts {
  offsets: OffsetManager;
  /** Forgets the queued records of a partition this member lost. */
  scheduler: { dropPartition(topic: string, partition: number): unknown };
  readiness: Readiness;
  rebalances: { inc(): void };
  logger: Logger;
}

/**
 * What the group's events mean for the parts. A rebalance starting: commit what finished, before
 * the partitions move (kafkajs has no blocking "revoked" callback). A join: forget the queued
 * records and offsets of the partitions lost, so nothing is committed over the new owner's progress.
 * A crash: not ready until the consumer rejoins.
 */
export function rebalanceHandlers(
  parts: RebalanceParts,
): Required<Pick<KafkaSourceHandlers, 'onRebalancing' | 'onAssignment' | 'onCrash'>> {
  const { offsets, scheduler, readiness, logger } = parts;
  return {
    onRebalancing: () => {
      parts.rebalances.inc();
      logger.info('rebalance: committing finished offsets before rejoining');
      offsets.commit().catch(() => {});
    },
    onAssignment: (assigned, revoked) => {
      for (const tp of revoked) for (const p of tp.partitions) scheduler.dropPartition(tp.topic, p);
      offsets.forget(revoked.flatMap((tp) => tp.partitions.map((partition) => ({ topic: tp.topic, partition }))));
      readiness.joinedGroup();
      logger.info({ assigned, revoked }, 'joined group');
    },
    onCrash: (error, restarting) => {
      readiness.crashed(error);
      logger.error({ err: error, restarting }, 'kafka consumer crashed');
    },
  };
}
