import { describe, expect, it } from 'vitest';
import { MetricsMerge, type MetricsSnapshot } from '../../src/cluster/metrics-merge.js';
import { DispatchMetrics } from '../../src/telemetry/metrics.js';
import { rec } from '../helpers/records.js';

/** A member's metrics after it delivered `delivered` records of topic t, with the group's lag read as `lag`. */
async function member(delivered: number, lag: number): Promise<MetricsSnapshot> {
  const metrics = new DispatchMetrics();
  metrics.inFlightCapacity.set(256);
  metrics.connected.set(1);
  for (let i = 0; i < delivered; i++) {
    const record = rec('t', 0, i);
    metrics.onReceived(record);
    metrics.onAttempt(record, { target: 'sink', status: 200, durationMs: 3 });
    metrics.onFinished(record, { outcome: 'delivered', status: 200, attempts: 1, durationMs: 3 });
  }
  metrics.lag.set({ group: 'g', topic: 't', partition: '0' }, lag);
  metrics.groupLag.set({ group: 'g', topic: 't' }, lag);
  return metrics.registry.getMetricsAsJSON();
}

/** The value of one series of the merged exposition (`name{labels}` as printed), or undefined. */
async function value(merge: MetricsMerge, series: string): Promise<number | undefined> {
  const text = await merge.registry().metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const DELIVERED = 'kafka_dispatch_records_finished_total{topic="t",outcome="delivered",status_class="2xx",sink="default"}';
const HISTOGRAM_COUNT = 'kafka_dispatch_attempt_duration_seconds_count{target="sink",status_class="2xx",sink="default"}';

describe('MetricsMerge (the pod /metrics with CONSUMERS > 1)', () => {
  it("adds up the members' counters, histograms and own gauges; the group's lag each reads is not multiplied", async () => {
    const merge = new MetricsMerge();
    merge.update(1, await member(3, 40));
    merge.update(2, await member(5, 40));
    expect(await value(merge, DELIVERED)).toBe(8);
    expect(await value(merge, HISTOGRAM_COUNT)).toBe(8);
    expect(await value(merge, 'kafka_dispatch_in_flight_capacity')).toBe(512);
    expect(await value(merge, 'kafka_dispatch_consumer_lag{group="g",topic="t",partition="0"}')).toBe(40);
    expect(await value(merge, 'kafka_dispatch_consumer_group_lag{group="g",topic="t"}')).toBe(40);
    expect(await value(merge, 'kafka_dispatch_consumer_connected')).toBe(1);
  });

  it('one member not connected: the pod is not', async () => {
    const merge = new MetricsMerge();
    merge.update(1, await member(1, 0));
    const down = new DispatchMetrics();
    down.connected.set(0);
    merge.update(2, await down.registry.getMetricsAsJSON());
    expect(await value(merge, 'kafka_dispatch_consumer_connected')).toBe(0);
  });

  it('keeps the counts of a member that died, so the counters never go down when it is replaced', async () => {
    const merge = new MetricsMerge();
    merge.update(1, await member(3, 10));
    merge.update(2, await member(5, 10));
    expect(await value(merge, DELIVERED)).toBe(8);
    merge.retire(2);
    expect(await value(merge, DELIVERED)).toBe(8);
    expect(await value(merge, HISTOGRAM_COUNT)).toBe(8);
    // Its replacement starts from 0 and counts on top; its gauges replace the dead one's.
    merge.update(3, await member(2, 10));
    expect(await value(merge, DELIVERED)).toBe(10);
    expect(await value(merge, 'kafka_dispatch_in_flight_capacity')).toBe(512);
    // A second death of the same slot folds into the same retired total.
    merge.retire(3);
    merge.update(4, await member(0, 10));
    expect(await value(merge, DELIVERED)).toBe(10);
    expect(await value(merge, HISTOGRAM_COUNT)).toBe(10);
  });

  it('drops the gauges of a member that died: they describe a process that is gone', async () => {
    const merge = new MetricsMerge();
    merge.update(1, await member(1, 10));
    merge.update(2, await member(1, 10));
    merge.retire(2);
    expect(await value(merge, 'kafka_dispatch_in_flight_capacity')).toBe(256);
  });
});
