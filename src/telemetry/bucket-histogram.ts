import type { MetricValueWithName, Registry } from 'prom-client';

/** What prom-client's registry reads of a metric (Histogram#get's shape). */
export interface ExportedMetric {
  name: string;
  help: string;
  type: 'histogram';
  aggregator: 'sum';
  values: Array<MetricValueWithName<string>>;
}

/** One label set's buckets: `observe` is a loop over the bounds and three additions. */
export class HistogramCell {
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    private readonly bounds: readonly number[],
    readonly labels: Readonly<Record<string, string>>,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/**
 * A Prometheus histogram whose label sets are resolved once into cells that count for themselves.
 * prom-client's labelled `observe` validates and hashes the labels on every call, and every record
 * observes twice; this one exports the same series (`_bucket` with `le`, `_sum`, `_count`) through
 * prom-client's registry, which formats it and aggregates it across workers like its own.
 */
export class BucketHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly cells = new Map<string, HistogramCell>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[],
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The cell of one label set; the values go in the order of `labelNames`. */
  labels(labels: Readonly<Record<L, string>>): HistogramCell {
    const key = this.labelNames.map((name) => labels[name]).join('\u0000');
    let cell = this.cells.get(key);
    if (!cell) {
      const own: Record<string, string> = {};
      for (const name of this.labelNames) own[name] = labels[name];
      cell = new HistogramCell(this.bounds, own);
      this.cells.set(key, cell);
    }
    return cell;
  }

  get(): Promise<ExportedMetric> {
    const values: Array<MetricValueWithName<string>> = [];
    for (const cell of this.cells.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += cell.counts[i]!;
        values.push({ labels: { le: this.bounds[i]!, ...cell.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { le: '+Inf', ...cell.labels }, value: cell.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...cell.labels }, value: cell.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...cell.labels }, value: cell.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    this.cells.clear();
  }
}
