import { Writable } from 'node:stream';
import type { Admin } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { LagCollector } from '../../src/telemetry/lag-collector.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { DispatchMetrics } from '../../src/telemetry/metrics.js';

/**
 * The admin calls the lag reader makes, answered from tables: the real reads are checked against
 * Kafka's own kafka-consumer-groups in test/e2e/lag-command.test.ts; this checks what the collector
 * makes of them.
 */
function fakeAdmin(state: { committed: Record<number, string>; ends: number[]; down?: boolean; silent?: boolean }) {
  const check = async () => {
    // kafkajs retrying a lost broker: no answer for up to 30 s.
    if (state.silent) await new Promise((resolve) => setTimeout(resolve, 30_000).unref());
    if (state.down) throw new Error('Connection error: ECONNREFUSED');
  };
  return {
    describeGroups: async () => (await check(), { groups: [] }),
    fetchOffsets: async ({ topics }: { topics?: string[] }) => (
      await check(),
      (topics ?? ['orders']).map((topic) => ({
        topic,
        partitions: state.ends.map((_, partition) => ({ partition, offset: state.committed[partition] ?? '-1' })),
      }))
    ),
    fetchTopicOffsets: async () => (
      await check(),
      state.ends.map((high, partition) => ({ partition, high: String(high), low: '0', offset: String(high) }))
    ),
  } as unknown as Admin;
}

const quiet = () => createLogger({ level: 'silent', format: 'json', destination: new Writable({ write: (_c, _e, done) => done() }) });

function collector(
  state: Parameters<typeof fakeAdmin>[0],
  initialOffset: 'earliest' | 'latest',
  refreshed: Array<Error | undefined> = [],
  answerTimeoutMs?: number,
) {
  const metrics = new DispatchMetrics();
  const lag = new LagCollector({
    ...(answerTimeoutMs === undefined ? {} : { answerTimeoutMs }),
    admin: fakeAdmin(state),
    groupId: 'g',
    topics: ['orders'],
    initialOffset,
    intervalMs: 60_000,
    metrics,
    logger: quiet(),
    ownLagSeconds: () => [{ topic: 'orders', partition: 0, seconds: 12.5 }],
    committedOffsets: () => [{ topic: 'orders', partition: 0, offset: '40' }],
    onRefreshed: (failure) => refreshed.push(failure),
  });
  const gauge = async (name: string) =>
    (
      (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name)!.values as Array<{
        value: number;
        labels: Record<string, string>;
      }>
    ).map((v) => [v.labels.partition ?? v.labels.topic, v.value]);
  return { lag, metrics, gauge };
}

describe('lag collector', () => {
  it("sets per-partition and per-topic lag with KEDA's rule for partitions never committed (latest → 1)", async () => {
    const { lag, gauge } = collector({ committed: { 0: '40' }, ends: [100, 30, 0] }, 'latest');
    await lag.refresh();
    expect(await gauge('kafka_dispatch_consumer_lag')).toEqual([
      ['0', 60],
      ['1', 1],
      ['2', 1],
    ]);
    expect(await gauge('kafka_dispatch_consumer_group_lag')).toEqual([['orders', 62]]);
  });

  it('counts a never-committed partition as its whole log under earliest', async () => {
    const { lag, gauge } = collector({ committed: { 0: '40' }, ends: [100, 30] }, 'earliest');
    await lag.refresh();
    expect(await gauge('kafka_dispatch_consumer_lag')).toEqual([
      ['0', 60],
      ['1', 30],
    ]);
  });

  it("exports this member's own lag seconds and committed offsets without asking the brokers", async () => {
    const state = { committed: {}, ends: [10], down: true };
    const { lag, gauge } = collector(state, 'latest');
    await lag.refresh();
    expect(await gauge('kafka_dispatch_consumer_lag_seconds')).toEqual([['0', 12.5]]);
    expect(await gauge('kafka_dispatch_consumer_group_lag_seconds')).toEqual([['orders', 12.5]]);
    expect(await gauge('kafka_dispatch_committed_offset')).toEqual([['0', 40]]);
  });

  it('reports a failed read (and counts it) until the brokers answer again', async () => {
    const state = { committed: { 0: '5' }, ends: [10], down: true };
    const refreshed: Array<Error | undefined> = [];
    const { lag, gauge } = collector(state, 'latest', refreshed);
    await lag.refresh();
    await lag.refresh();
    expect(lag.failure?.message).toContain('ECONNREFUSED');
    expect(await gauge('kafka_dispatch_lag_refresh_failures_total')).toEqual([[undefined, 2]]);
    state.down = false;
    await lag.refresh();
    expect(lag.failure).toBeUndefined();
    expect(refreshed.map((f) => f?.message.includes('ECONNREFUSED') ?? 'ok')).toEqual([true, true, 'ok']);
    expect(await gauge('kafka_dispatch_consumer_lag')).toEqual([['0', 5]]);
  });

  it('a read the brokers do not answer (kafkajs retrying for 30 s) fails at the answer timeout, so /readyz turns within seconds', async () => {
    const refreshed: Array<Error | undefined> = [];
    const { lag } = collector({ committed: {}, ends: [10], silent: true }, 'latest', refreshed, 200);
    const started = performance.now();
    await lag.refresh();
    expect(performance.now() - started).toBeLessThan(5000);
    expect(refreshed.map((f) => f?.message)).toEqual(['no answer from the brokers within 200 ms']);
  });
});
