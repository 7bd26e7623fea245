import type { KafkaRecord } from '../source/record.js';
import type { AttemptReport, DispatchListener } from './outcome.js';
import { isOverloadSignal } from './sink-recovery.js';
import { clamp } from '../util/clamp.js';

/** How far back the unloaded latency looks. */
const BASELINE_MS = 60_000;

export interface AdaptiveConcurrencyOptions {
  /** Bounds of the limit; `max` is MAX_IN_FLIGHT. */
  min: number;
  max: number;
  /** Where the limit starts (it has learned nothing yet). */
  initial: number;
  /** Requests running now: the limit only grows while it is what holds them back. */
  inFlight: () => number;
  /**
   * The concurrency the arrivals need (Little's law, `DemandEstimator`): latency alone never takes
   * the limit below it, so a sink that queues while it scales out (Knative's activator holding
   * requests for pods still starting) still sees the demand it must scale to. Overload answers do.
   */
  demand?: () => number | undefined;
  /** Told of every new limit. */
  onChange?: (limit: number) => void;
  /** The longest a window of answers lasts before the limit is reconsidered (default 1 s). */
  windowMs?: number;
  /** A window's latency may be this many times the long-run latency before it counts as queueing. */
  tolerance?: number;
  now?: () => number;
}

/**
 * The in-flight limit, learned from the sink's answers (Netflix concurrency-limits' gradient, with
 * AIMD's cut on overload): each window compares its latency with the sink's unloaded latency; while the
 * sink answers in time the limit grows by about √limit per window (as long as the limit is what is
 * holding requests back), latency rising past `tolerance` shrinks it in proportion, and an overload
 * answer (503, 429, 502/504, a timeout, a refused connection) cuts it by a tenth at once. So the
 * dispatcher's concurrency rises as Knative adds pods and backs off before queue-proxy queues
 * overflow, within [min, max]. Latency alone never takes it below the demand (`demand`).
 */
export class AdaptiveConcurrency implements DispatchListener {
  private current: number;
  private readonly windowMs: number;
  private readonly tolerance: number;
  private readonly now: () => number;
  private windowStart: number;
  private latencySum = 0;
  private latencyCount = 0;
  private peakInFlight = 0;
  private overloaded = false;
  /** The sink's unloaded latency (ms): the lowest window latency of the last minute. */
  private longLatencyMs: number | undefined;
  private readonly recent: Array<{ at: number; latency: number }> = [];

  constructor(private readonly options: AdaptiveConcurrencyOptions) {
    if (options.min < 1 || options.max < options.min)
      throw new RangeError(`adaptive concurrency: bounds [${options.min}, ${options.max}] are not valid`);
    this.current = clamp(options.initial, options.min, options.max);
    this.windowMs = options.windowMs ?? 1000;
    this.tolerance = options.tolerance ?? 2;
    this.now = options.now ?? (() => performance.now());
    this.windowStart = this.now();
  }

  /** The limit now: at most this many requests in flight. */
  get limit(): number {
    return Math.floor(this.current);
  }

  /** The sink's long-run latency in milliseconds, once measured. */
  get latencyMs(): number | undefined {
    return this.longLatencyMs;
  }

  onAttempt(_record: KafkaRecord, report: AttemptReport): void {
    if (report.target !== 'sink') return;
    this.peakInFlight = Math.max(this.peakInFlight, this.options.inFlight() + 1);
    if (isOverloadSignal(report)) {
      if (!this.overloaded) {
        // Cut at once, once per window: a burst of 503s from one overflow is one signal.
        this.overloaded = true;
        this.set(this.current * 0.9);
      }
    } else if (report.error === undefined) {
      this.latencySum += report.durationMs;
      this.latencyCount++;
    }
    if (this.now() - this.windowStart >= this.currentWindowMs()) this.endWindow();
  }

  /**
   * A window lasts two of the sink's unloaded latencies (TCP grows per round trip), within
   * [windowMs / 10, windowMs]: a 1 s inference service is reconsidered every second, not every ten.
   */
  private currentWindowMs(): number {
    const base = this.longLatencyMs;
    return base === undefined ? this.windowMs : Math.min(this.windowMs, Math.max(this.windowMs / 10, 2 * base));
  }

  private endWindow(): void {
    const latency = this.latencyCount > 0 ? this.latencySum / this.latencyCount : undefined;
    const used = this.peakInFlight >= this.current * 0.9;
    if (latency !== undefined && !this.overloaded) {
      const long = Math.min(this.longLatencyMs ?? latency, latency);
      // Latency within tolerance: gradient 1; queueing doubles it: the limit halves, never more.
      const gradient = Math.max(0.5, Math.min(1, (this.tolerance * long) / latency));
      const grown = gradient === 1 && used ? this.current + Math.sqrt(this.current) : this.current * gradient;
      this.set(Math.max(grown, Math.ceil(this.options.demand?.() ?? 0)));
      // The baseline is the lowest window latency of the last minute: a new pod lowers it at once; a
      // sink that really got slower is accepted a minute later; the queue the limit itself causes is
      // never taken for the norm while the sink is still seen fast now and then (Knative adding pods).
      const now = this.now();
      this.recent.push({ at: now, latency });
      while (this.recent.length > 1 && now - this.recent[0]!.at > BASELINE_MS) this.recent.shift();
      this.longLatencyMs = Math.min(...this.recent.map((w) => w.latency));
    }
    this.windowStart = this.now();
    this.latencySum = 0;
    this.latencyCount = 0;
    this.peakInFlight = this.options.inFlight();
    this.overloaded = false;
  }

  private set(value: number): void {
    const before = this.limit;
    this.current = clamp(value, this.options.min, this.options.max);
    if (this.limit !== before) this.options.onChange?.(this.limit);
  }
}
