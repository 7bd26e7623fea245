import { createRequire } from 'node:module';
import { PartitionAssigners, type PartitionAssigner } from 'kafkajs';

/**
 * A blocking "before the partitions move" step, which kafkajs lacks (Java's onPartitionsRevoked,
 * librdkafka's rebalance callback): a member that learns of a rebalance rejoins at once, while its
 * requests for partitions that may go to another member are still in flight. Holding the JoinGroup
 * request back is what the group protocol allows (the coordinator waits for every member up to the
 * rebalance timeout), so the hook runs before every join and the join waits for it.
 *
 * kafkajs has no public seam there: its ConsumerGroup.joinAndSync is wrapped, and the hook is
 * found through the group's partition assigners, the one per-consumer object a consumer is built
 * with. Pinned to kafkajs 2.x; test/source/rejoin-hold.test.ts fails when the seam moves.
 */

const BEFORE_JOIN = Symbol('kafka-dispatch.beforeJoin');

type BeforeJoin = () => Promise<void>;

interface ConsumerGroupInternals {
  assigners: Array<{ [BEFORE_JOIN]?: BeforeJoin }>;
  joinAndSync(): Promise<void>;
}

let installed = false;

function installJoinHook(): void {
  if (installed) return;
  const require = createRequire(import.meta.url);
  const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as { prototype: ConsumerGroupInternals };
  const joinAndSync = ConsumerGroup.prototype.joinAndSync;
  if (typeof joinAndSync !== 'function') {
    throw new Error('kafkajs ConsumerGroup.joinAndSync not found: this kafkajs version is not supported');
  }
  ConsumerGroup.prototype.joinAndSync = async function (this: ConsumerGroupInternals) {
    const beforeJoin = this.assigners.find((assigner) => assigner[BEFORE_JOIN])?.[BEFORE_JOIN];
    // A failing hook must not keep the member out of its group.
    if (beforeJoin) await beforeJoin().catch(() => {});
    return joinAndSync.call(this);
  };
  installed = true;
}

/** kafkajs's round-robin assigner (same protocol name, so mixed groups agree), carrying `beforeJoin`. */
export function roundRobinHoldingJoin(beforeJoin: BeforeJoin): PartitionAssigner {
  installJoinHook();
  return (config) => Object.assign(PartitionAssigners.roundRobin(config), { [BEFORE_JOIN]: beforeJoin });
}

/** Whether the hook is in place (for the test that guards the kafkajs seam). */
export function joinHookInstalled(): boolean {
  return installed;
}
