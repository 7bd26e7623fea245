/**
 * Windowed averages over one-second buckets, as the Knative autoscaler keeps them.
 *
 * Follows `knative.dev/serving` `pkg/autoscaler/aggregation/bucketing.go` (`TimedFloat64Buckets`, the
 * default linear algorithm; the weighted-exponential one is opt-in per revision and not modelled):
 * - values recorded in the same bucket (granularity, 1 s in `pkg/autoscaler/metrics/collector.go`)
 *   add up; the collector records one stat per second, the sum over pods and the activator;
 * - the average divides the window's total by the buckets that hold valid data: from the first write
 *   (reset after a whole window without writes) to the last, at most the window's length;
 * - when no write came for a while (less than a window), the buckets since the last write count as
 *   gone (removed from the total and from the divisor); after a whole window without data it is 0.
 */
export class WindowedAverage {
  private readonly buckets: number[];
  private firstWrite: number | null = null;
  private lastWrite: number | null = null;
  private total = 0;

  constructor(
    readonly windowMs: number,
    readonly granularityMs = 1000,
  ) {
    if (!(windowMs > 0) || !(granularityMs > 0)) throw new RangeError('window and granularity must be > 0');
    this.buckets = new Array<number>(Math.ceil(windowMs / granularityMs)).fill(0);
  }

  private index(bucketMs: number): number {
    return Math.floor(bucketMs / this.granularityMs);
  }

  private truncate(ms: number): number {
    return Math.floor(ms / this.granularityMs) * this.granularityMs;
  }

  record(nowMs: number, value: number): void {
    const bucket = this.truncate(nowMs);
    const n = this.buckets.length;
    if (this.lastWrite !== bucket) {
      if (this.lastWrite !== null && bucket + this.windowMs <= this.lastWrite) return; // older than a window
      if (this.firstWrite === null || this.firstWrite > bucket) this.firstWrite = bucket;
      if (this.lastWrite === null || bucket > this.lastWrite) {
        if (this.lastWrite === null || bucket - this.lastWrite >= this.windowMs) {
          this.firstWrite = bucket;
          this.buckets.fill(0);
          this.total = 0;
        } else {
          for (let i = this.index(this.lastWrite) + 1; i <= this.index(bucket); i++) {
            this.total -= this.buckets[i % n]!;
            this.buckets[i % n] = 0;
          }
        }
        this.lastWrite = bucket;
      }
    }
    const i = this.index(bucket) % n;
    this.buckets[i] = this.buckets[i]! + value;
    this.total += value;
  }

  /** No data for more than a window (Knative's `IsEmpty`: the autoscaler then makes no decision). */
  isEmpty(nowMs: number): boolean {
    return this.lastWrite === null || this.truncate(nowMs) - this.lastWrite > this.windowMs;
  }

  average(nowMs: number): number {
    if (this.lastWrite === null || this.firstWrite === null) return 0;
    const now = this.truncate(nowMs);
    const n = this.buckets.length;
    const valid = Math.floor((this.lastWrite - this.firstWrite) / this.granularityMs) + 1;
    const d = now - this.lastWrite;
    if (d <= 0) return round6(this.total / Math.min(valid, n));
    if (d < this.windowMs) {
      const st = this.index(this.lastWrite);
      const en = this.index(now);
      let ret = this.total;
      for (let i = st + 1; i <= en; i++) ret -= this.buckets[i % n]!;
      return round6(ret / Math.min(valid, n - (en - st)));
    }
    return 0;
  }
}

/** `roundToNDigits(6, x)` in bucketing.go. */
function round6(x: number): number {
  return Math.floor(x * 1e6) / 1e6;
}
