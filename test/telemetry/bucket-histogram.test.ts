import { AggregatorRegistry, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BucketHistogram } from '../../src/telemetry/bucket-histogram.js';

const BOUNDS = [0.005, 0.01, 0.1, 1];
const OBSERVED: Array<[{ target: string; status_class: string }, number]> = [
  [{ target: 'sink', status_class: '2xx' }, 0.001],
  [{ target: 'sink', status_class: '2xx' }, 0.005],
  [{ target: 'sink', status_class: '2xx' }, 0.05],
  [{ target: 'sink', status_class: '5xx' }, 3],
  [{ target: 'dead-letter', status_class: 'none' }, 0.2],
  [{ target: 'sink', status_class: '2xx' }, 1],
];

function both() {
  const ours = new Registry();
  const theirs = new Registry();
  const fast = new BucketHistogram('h_seconds', 'help text', ['target', 'status_class'], BOUNDS, ours);
  const reference = new Histogram({
    name: 'h_seconds',
    help: 'help text',
    labelNames: ['target', 'status_class'],
    buckets: BOUNDS,
    registers: [theirs],
  });
  for (const [labels, value] of OBSERVED) {
    fast.labels(labels).observe(value);
    reference.labels(labels).observe(value);
  }
  return { ours, theirs };
}

describe('BucketHistogram', () => {
  it('exports exactly what prom-client’s Histogram exports for the same observations', async () => {
    const { ours, theirs } = both();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // The JSON the cluster aggregator reads: the same, but for prom-client's exemplar slots (unused here).
    const withoutExemplars = async (registry: Registry) =>
      (await registry.getMetricsAsJSON()).map((metric) => ({
        ...metric,
        values: metric.values.map(({ labels, value, metricName }: { labels: object; value: number; metricName?: string }) => ({
          labels,
          value,
          metricName,
        })),
      }));
    expect(await withoutExemplars(ours)).toEqual(await withoutExemplars(theirs));
  });

  it('aggregates across workers like prom-client’s Histogram (bucket counts summed)', async () => {
    const { ours, theirs } = both();
    const twice = async (registry: Registry) =>
      await AggregatorRegistry.aggregate([await registry.getMetricsAsJSON(), await registry.getMetricsAsJSON()]).metrics();
    expect(await twice(ours)).toBe(await twice(theirs));
    expect(await twice(ours)).toContain('h_seconds_bucket{le="0.01",target="sink",status_class="2xx"} 4');
  });

  it('ignores values that are not finite instead of corrupting the sum', async () => {
    const registry = new Registry();
    const histogram = new BucketHistogram('h_seconds', 'help', ['target'], BOUNDS, registry);
    histogram.labels({ target: 'sink' }).observe(Number.NaN);
    histogram.labels({ target: 'sink' }).observe(0.5);
    expect(await registry.metrics()).toContain('h_seconds_sum{target="sink"} 0.5');
  });
});
