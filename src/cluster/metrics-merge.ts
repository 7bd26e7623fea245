import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';

/** A member's registry as `registry.getMetricsAsJSON()` gives it (plain data: it crosses the IPC channel). */
export type MetricsSnapshot = Array<MetricObjectWithValues<MetricValue<string>>>;

/** Series that only grow: a scraper's `rate()` reads a drop as a counter reset. */
const MONOTONIC = new Set(['counter', 'histogram', 'summary']);

/**
 * The pod's /metrics with CONSUMERS > 1: the members' registries merged with prom-client's
 * AggregatorRegistry, each metric by its own `aggregator` (counters and histograms summed; gauges
 * summed or, for what every member reads of the whole group like lag, the max — see metrics.ts).
 *
 * A member that dies takes its counts with it, and its replacement starts from 0: summed as they
 * are, the pod's counters would drop, which Prometheus reads as a reset and, within one scrape
 * interval of a real increase, as a wrong rate. So the last snapshot of every member that left is
 * kept, its counters and histograms folded into one `retired` total that the merge adds in: the pod's
 * counters never go down. (What the dead member counted after its last snapshot is lost from the
 * counters; records it had not committed are redelivered and counted again by their new owner.)
 * Its gauges go with it: they describe a member that is no more.
 */
export class MetricsMerge {
  private readonly latest = new Map<number, MetricsSnapshot>();
  private retired: MetricsSnapshot = [];

  /** The newest snapshot of the member running as `key` (a cluster worker id, unique per process). */
  update(key: number, snapshot: MetricsSnapshot): void {
    this.latest.set(key, snapshot);
  }

  /** The member `key` is gone: its monotonic series stay in the retired total, the rest is dropped. */
  retire(key: number): void {
    const last = this.latest.get(key);
    this.latest.delete(key);
    if (!last) return;
    const byName = new Map(this.retired.map((metric) => [metric.name, metric]));
    for (const metric of last) {
      // prom-client types `type` as an enum; in the JSON it is the exposition's word.
      if (!MONOTONIC.has(metric.type as unknown as string)) continue;
      const before = byName.get(metric.name);
      byName.set(metric.name, before ? summed(before, metric) : metric);
    }
    this.retired = [...byName.values()];
  }

  /** Every live member's latest snapshot plus the retired totals, merged. */
  registry(): Registry {
    return AggregatorRegistry.aggregate([...this.latest.values(), this.retired]);
  }
}

type Metric = MetricsSnapshot[number];

/** `a` and `b` added series by series (a histogram's series are told apart by `metricName` and `le`). */
function summed(a: Metric, b: Metric): Metric {
  const values = new Map<string, Metric['values'][number]>();
  for (const value of [...a.values, ...b.values]) {
    const named = value as typeof value & { metricName?: string };
    const labels = Object.entries(value.labels).sort(([x], [y]) => (x < y ? -1 : 1));
    const key = `${named.metricName ?? ''}|${JSON.stringify(labels)}`;
    const before = values.get(key);
    values.set(key, before ? { ...before, value: before.value + value.value } : { ...value });
  }
  return { ...a, values: [...values.values()] };
}
