import type { KafkaRecord } from '../source/record.js';
import type { AttemptReport, DispatchListener } from './outcome.js';
import { isOverloadSignal } from './sink-recovery.js';
import { clamp } from '../util/clamp.js';

/**
 * The last second's mean latency past this many unloaded latencies means the sink is queueing (pods
 * still starting behind the activator). Twice, not less: a sink whose latency varies request by
 * request has a mean well above its fastest answer without any queue.
 */
const QUEUEING_RATIO = 2;
/** Overload answers cut the limit to no less than this share of the demand: a sink that fails a third of its requests is not overloaded, and starving it would hold every record back. */
const OVERLOAD_FLOOR = 0.5;
/**
 * While records arrive, a backlog drains by default at most this share faster than they arrive
 * (BACKLOG_DRAIN_SHARE): Knative starts pods in proportion to the concurrency it sees (and holds a
 * panic's peak for a minute), so a drain at full speed starts pods the live load never needs.
 */
export const DEFAULT_DRAIN_SHARE = 0.15;
/** The lag growing by more than this share of the arrivals means the sink is behind, not keeping up. */
const FALLING_BEHIND_SHARE = 0.75;
/**
 * Requests faster than this are sized as if they took this long: below it the latency the
 * dispatcher measures is mostly its own scheduling, and sizing by it would starve a fast sink. A
 * Knative Service that fast needs few pods whatever is in flight.
 */
export const LATENCY_FLOOR_SECONDS = 0.05;
/**
 * Requests that hang, time out or fail hold their slot far longer than the fastest answer, so the
 * limit Little's law gives can carry much less than the arrivals. While the limit holds records back,
 * the sink answers at its unloaded speed (no queue), and the attempts carried fall below this share
 * of what is wanted, for three seconds running, the limit grows by a quarter a second (up to 16
 * times), and shrinks back once it no longer holds anything back.
 */
const STARVED_SHARE = 0.75;
const UNQUEUED_RATIO = 1.25;
const MAX_BOOST = 16;
const STARVED_FOR_SECONDS = 3;
/** A backlog that would take longer than this many BACKLOG_DRAIN periods at that pace drains at full speed. */
const LONGEST_DRAIN_PERIODS = 10;

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
  /** Requests in flight now: whether the limit is what holds records back. */
  inFlight?: () => number;
  /** How soon a backlog drains when nothing else arrives, seconds (BACKLOG_DRAIN). */
  drainSeconds?: number;
  /** While records arrive, how much faster than they arrive a backlog drains (BACKLOG_DRAIN_SHARE). */
  drainShare?: number;
  /**
   * Records per request (BATCH_MAX_RECORDS; default 1): the limit is whole batches, one more than
   * the demand needs, for the batch being filled while the others are in flight.
   */
  batchRecords?: number;
  onChange?: (limit: number, previous: number) => void;
  now?: () => number;
}

/**
 * In flight no more than the workload needs (TCP BBR's bandwidth-delay product): this member's share
 * of arrival rate × the sink's unloaded latency, plus what drains the backlog, within [min, max].
 * Knative sizes the service by the concurrency it sees, so every request beyond that only lengthens
 * the activator's queue and makes the autoscaler panic to maxScale.
 *
 * The backlog drains within `drainSeconds` when nothing arrives; while records arrive, at most
 * `drainShare` faster than they arrive, unless that would take more than ten `drainSeconds`. The
 * pace a backlog started with holds until it is gone (a drain that slowed as the lag shrank would
 * never finish), and nothing is added while the sink falls behind. Overload answers (503, 429,
 * timeouts) cut the limit by a tenth at once, recovering by 5 % a second.
 */
export class DemandLimit implements DispatchListener {
  private current: number;
  private overload = 1;
  private lastCut = Number.NEGATIVE_INFINITY;
  private lastRecovery: number;
  private readonly now: () => number;
  private backlog: { lag: number; share: number; at: number; growth: number } | undefined;
  /** Records/s the current backlog drains at (0: no backlog). */
  private drainRate = 0;
  private boost = 1;
  private starvedSeconds = 0;
  private attempts = 0;
  private attemptsSince: number;

  constructor(private readonly options: DemandLimitOptions) {
    if (options.min < 1 || options.max < options.min)
      throw new RangeError(`demand limit: bounds [${options.min}, ${options.max}] are not valid`);
    if (options.batchRecords !== undefined && !(Number.isInteger(options.batchRecords) && options.batchRecords >= 1))
      throw new RangeError(`demand limit: batchRecords must be a whole number of at least 1, got ${options.batchRecords}`);
    this.now = options.now ?? (() => performance.now());
    this.current = clamp(options.initial, options.min, options.max);
    this.lastRecovery = this.now();
    this.attemptsSince = this.lastRecovery;
  }

  get limit(): number {
    return this.current;
  }

  onAttempt(_record: KafkaRecord, report: AttemptReport): void {
    if (report.target !== 'sink') return;
    this.attempts++;
    if (!isOverloadSignal(report)) return;
    const now = this.now();
    if (now - this.lastCut < 1000) return;
    this.lastCut = now;
    this.overload = Math.max(OVERLOAD_FLOOR, this.overload * 0.9);
    this.update();
  }

  /** Attempts per second over the last whole second or more; the boost follows them. */
  private followCarried(wanted: number, unqueued: boolean, now: number): void {
    const seconds = (now - this.attemptsSince) / 1000;
    if (seconds < 1) return;
    const attemptRate = this.attempts / seconds;
    this.attempts = 0;
    this.attemptsSince = now;
    const holdsBack = (this.options.inFlight?.() ?? 0) >= this.current;
    const starved = holdsBack && unqueued && attemptRate < STARVED_SHARE * wanted;
    // Pods that just became ready carry little for a second or two: only a starving that lasts counts.
    this.starvedSeconds = starved ? this.starvedSeconds + seconds : 0;
    if (this.starvedSeconds >= STARVED_FOR_SECONDS) this.boost = Math.min(MAX_BOOST, this.boost * 1.25 ** seconds);
    else if (!holdsBack) this.boost = Math.max(1, this.boost * 0.9 ** seconds);
  }

  /** After each lag read: the group's lag and the share of the partitions this member owns (0..1). */
  lagRead(lag: number, share: number): void {
    const at = this.now();
    const last = this.backlog;
    const growth = last && at > last.at ? ((lag - last.lag) * 1000) / (at - last.at) : 0;
    this.backlog = { lag, share, at, growth };
    this.update();
  }

  /** Recomputes the limit from the latest estimates (after each lag read, and once a second). */
  update(): void {
    const now = this.now();
    const seconds = (now - this.lastRecovery) / 1000;
    this.lastRecovery = now;
    if (now - this.lastCut > 1000) this.overload = Math.min(1, this.overload * 1.05 ** seconds);
    const rate = this.options.arrivalRate();
    const measured = this.options.latencySeconds();
    if (rate === undefined || measured === undefined) return;
    const latency = Math.max(LATENCY_FLOOR_SECONDS, measured);
    const backlog = this.backlog;
    const share = backlog?.share ?? 1;
    // Requests beyond the demand while the sink falls behind (pods still starting behind the
    // activator: answers slow, the lag grows by much of what arrives) drain nothing sooner: they only
    // make Knative's autoscaler panic for more pods than the load needs. Until a second of answers
    // is known, it is not known whether the sink keeps up.
    const recent = this.options.recentLatencySeconds?.();
    const keepsUp = recent !== undefined && recent <= latency * QUEUEING_RATIO && (backlog?.growth ?? 0) <= FALLING_BEHIND_SHARE * rate;
    // The lag counts the records in flight too; what waits beyond them is the backlog. Once the
    // drain's own requests hold all of it, the backlog is gone, and with it the pace.
    const waiting = (backlog?.lag ?? 0) - rate * latency;
    if (waiting <= this.drainRate * latency) this.drainRate = 0;
    if (waiting > 0) {
      const pace = backlogDrainRate(waiting, rate, this.options.drainSeconds ?? 30, this.options.drainShare ?? DEFAULT_DRAIN_SHARE);
      this.drainRate = Math.max(this.drainRate, pace);
    }
    const drainRate = keepsUp ? this.drainRate : 0;
    this.followCarried(share * (rate + drainRate), keepsUp && recent <= latency * UNQUEUED_RATIO, now);
    const wanted = share * (rate + drainRate) * latency * this.overload * this.boost;
    const batch = this.options.batchRecords ?? 1;
    const previous = this.current;
    this.current = clamp(batch > 1 ? (Math.ceil(wanted / batch) + 1) * batch : Math.ceil(wanted), this.options.min, this.options.max);
    if (this.current !== previous) this.options.onChange?.(this.current, previous);
  }
}

/** Records/s beyond the arrivals that drain `lag`: within `drainSeconds`, paced by the arrivals while they flow. */
export function backlogDrainRate(lag: number, arrivalRate: number, drainSeconds: number, share: number): number {
  const full = lag / drainSeconds;
  const paced = share * arrivalRate;
  return lag > paced * LONGEST_DRAIN_PERIODS * drainSeconds ? full : Math.min(full, paced);
}
