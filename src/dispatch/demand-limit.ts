import type { KafkaRecord } from '../source/record.js';
import type { AttemptReport, DispatchListener } from './outcome.js';
import { isOverloadSignal } from './sink-recovery.js';

/** The recent latency past this many unloaded latencies means the sink is queueing. */
const QUEUEING_RATIO = 1.5;

export interface DemandLimitOptions {
  /** Bounds: MIN_IN_FLIGHT and MAX_IN_FLIGHT (the hard ceiling). */
  min: number;
  max: number;
  /** Where it starts, before the arrival rate and the sink's latency are known. */
  initial: number;
  /** The topics' arrival rate (records/s) and the sink's unloaded latency (s), when known. */
  arrivalRate: () => number | undefined;
  latencySeconds: () => number | undefined;
  /** The latency of the last second, queueing included: while the sink queues, a backlog waits. */
  recentLatencySeconds?: () => number | undefined;
  /** The group's lag and the share of the partitions this member owns (0..1). */
  backlog: () => { lag: number; share: number } | undefined;
  /** How soon a backlog is to be drained, seconds. */
  drainSeconds?: number;
  onChange?: (limit: number, previous: number) => void;
  now?: () => number;
}

/**
 * In flight no more than the workload needs (TCP BBR's bandwidth-delay product): this member's share
 * of arrival rate × the sink's unloaded latency, plus what drains the backlog within `drainSeconds`,
 * within [min, max]. Knative sizes the service by the concurrency it sees, so every request beyond
 * that only lengthens the activator's queue and makes the autoscaler panic to maxScale. Overload
 * answers (503, 429, timeouts) cut it by a tenth at once, recovering by 5 % a second.
 */
export class DemandLimit implements DispatchListener {
  private current: number;
  private overload = 1;
  private lastCut = Number.NEGATIVE_INFINITY;
  private lastRecovery: number;
  private readonly now: () => number;

  constructor(private readonly options: DemandLimitOptions) {
    if (options.min < 1 || options.max < options.min)
      throw new RangeError(`demand limit: bounds [${options.min}, ${options.max}] are not valid`);
    this.now = options.now ?? (() => performance.now());
    this.current = clamp(options.initial, options.min, options.max);
    this.lastRecovery = this.now();
  }

  get limit(): number {
    return this.current;
  }

  onAttempt(_record: KafkaRecord, report: AttemptReport): void {
    if (report.target !== 'sink' || !isOverloadSignal(report)) return;
    const now = this.now();
    if (now - this.lastCut < 1000) return;
    this.lastCut = now;
    this.overload = Math.max(0.05, this.overload * 0.9);
    this.update();
  }

  /** Recomputes the limit from the latest estimates (after each lag read, and once a second). */
  update(): void {
    const now = this.now();
    const seconds = (now - this.lastRecovery) / 1000;
    this.lastRecovery = now;
    if (now - this.lastCut > 1000) this.overload = Math.min(1, this.overload * 1.05 ** seconds);
    const rate = this.options.arrivalRate();
    const latency = this.options.latencySeconds();
    if (rate === undefined || latency === undefined) return;
    const backlog = this.options.backlog();
    const share = backlog?.share ?? 1;
    // Requests beyond the demand while the sink queues (pods still starting behind the activator)
    // drain nothing sooner: they only make Knative's autoscaler panic for more pods than the load needs.
    const recent = this.options.recentLatencySeconds?.();
    const queueing = recent !== undefined && recent > latency * QUEUEING_RATIO;
    const drain = queueing ? 0 : ((backlog?.lag ?? 0) / (this.options.drainSeconds ?? 30)) * latency;
    const wanted = Math.ceil(share * (rate * latency + drain) * this.overload);
    const previous = this.current;
    this.current = clamp(wanted, this.options.min, this.options.max);
    if (this.current !== previous) this.options.onChange?.(this.current, previous);
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
