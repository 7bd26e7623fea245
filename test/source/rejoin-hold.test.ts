import { createRequire } from 'node:module';
import { PartitionAssigners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { joinHookInstalled, roundRobinHoldingJoin } from '../../src/source/rejoin-hold.js';

// The behaviour (a rejoin waits for the records in flight) is proven against a real broker in
// test/e2e/rebalance.test.ts; this pins the kafkajs seam it hangs on, so an upgrade that moves it
// fails here with a clear name rather than as a flaky ordering test.
describe('rejoin hold: the kafkajs seam', () => {
  const config = { cluster: {} as never, groupId: 'g', logger: { info() {}, debug() {}, warn() {}, error() {} } as never };

  it('the assigner is kafkajs round-robin under its own protocol name, so members of mixed versions agree', () => {
    const assigner = roundRobinHoldingJoin(async () => {})(config);
    const plain = PartitionAssigners.roundRobin(config);
    expect(assigner.name).toBe(plain.name);
    expect(assigner.version).toBe(plain.version);
  });

  it('wraps ConsumerGroup.joinAndSync so that a join first awaits the hook of the group it belongs to', async () => {
    roundRobinHoldingJoin(async () => {});
    expect(joinHookInstalled()).toBe(true);
    const require = createRequire(import.meta.url);
    const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as { prototype: { joinAndSync(): Promise<void> } };
    const order: string[] = [];
    let release!: () => void;
    const hook = () => {
      order.push('hook');
      return new Promise<void>((resolve) => (release = resolve));
    };
    // A stand-in group: kafkajs's joinAndSync runs its join and sync inside `retrier`.
    const group = {
      assigners: [roundRobinHoldingJoin(hook)(config)],
      retrier: async () => void order.push('join'),
    };
    const joined = ConsumerGroup.prototype.joinAndSync.call(group);
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['hook']);
    release();
    await joined;
    expect(order).toEqual(['hook', 'join']);
  });
});
