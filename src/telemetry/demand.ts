import type { AttemptReport, DispatchListener } from '../dispatch/outcome.js';
import type { KafkaRecord } from '../source/record.js';

/** The last lag interval's arrivals past this many times the window's rate are a step up, taken at once. */
const STEP_UP_RATIO = 1.5;

export interface DemandOptions {
  /** Windows of successful attempts remembered: the fastest of them is the sink's unloaded latency. */
  latencyWindows?: number;
  windowMs?: number;
  /** The arrival rate is the end offsets' growth over this long (default 15 s; three lag reads is right). */
  rateWindowMs?: number;
  now?: () => number;
}

/**
 * The concurrency the workload needs, by Little's law: the topics' arrival rate (records/s, from
 * the growth of their end offsets between lag reads) times the sink's unloaded latency (the fastest
 * successful attempt of each second, the lowest of those over the last half minute: a request that
 * met no queue, so queueing in the activator or a queue-proxy does not inflate it). Topic-wide, the
 * same on every replica: what an operator or KEDA pre-scales the sink by. Undefined until both are known.
 *
 * With micro-batching a record holds its slot for its batch's whole request, and a batch of one
 * answers sooner than a full one (a GPU's a + b·n), so the fastest request of any size would
 * under-size a loaded dispatcher, whose batches are full. Each second keeps the fastest request of
 * the largest batch it sent; the unloaded latency is the lowest of those among the seconds that sent
 * the largest batch remembered.
 */
export class DemandEstimator implements DispatchListener {
  private readonly ends: Array<{ offsets: number; at: number }> = [];
  private readonly rateWindowMs: number;
  private rate: number | undefined;
  private readonly windows: Array<{ fastestMs: number; records: number }> = [];
  private fastestMs = 0;
  /** The largest batch this window sent; `fastestMs` is the fastest request of that size. */
  private windowRecords = 0;
  private windowCount = 0;
  private windowSumMs = 0;
  private lastMeanMs: number | undefined;
  private windowStart: number;
  private readonly latencyWindows: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(options: DemandOptions = {}) {
    this.latencyWindows = options.latencyWindows ?? 30;
    this.windowMs = options.windowMs ?? 1000;
    this.rateWindowMs = options.rateWindowMs ?? 15_000;
    this.now = options.now ?? (() => performance.now());
    this.windowStart = this.now();
  }

  /** The sum of the end offsets of every partition read, as a lag read found it. */
  observeEndOffsets(total: number): void {
    const at = this.now();
    // A topic recreated (offsets back to 0): start over.
    if (this.ends.length > 0 && total < this.ends.at(-1)!.offsets) this.ends.length = 0;
    this.ends.push({ offsets: total, at });
    while (this.ends.length > 2 && at - this.ends[1]!.at >= this.rateWindowMs) this.ends.shift();
    const first = this.ends[0]!;
    // The slope over the window, not between two reads: one read lands between bursts, the next on one.
    if (this.ends.length < 2 || at <= first.at) return;
    const overWindow = ((total - first.offsets) * 1000) / (at - first.at);
    // A step up shows in the last interval a whole window before the window's slope catches up;
    // only a jump that noise between bursts cannot make counts, and only upwards.
    const previous = this.ends.at(-2)!;
    const lastInterval = at > previous.at ? ((total - previous.offsets) * 1000) / (at - previous.at) : overWindow;
    if (lastInterval < STEP_UP_RATIO * overWindow) {
      this.rate = overWindow;
      return;
    }
    // The window starts again at the step, so the rate does not fall back while it fills.
    this.ends.splice(0, this.ends.length - 2);
    this.rate = lastInterval;
  }

  onAttempt(_record: KafkaRecord, report: AttemptReport): void {
    if (report.target !== 'sink' || report.error !== undefined || report.status === undefined || report.status >= 300) return;
    this.rollWindow();
    const records = report.records ?? 1;
    if (this.windowCount === 0 || outranks(report.durationMs, records, this.fastestMs, this.windowRecords)) {
      this.fastestMs = report.durationMs;
      this.windowRecords = records;
    }
    this.windowCount++;
    this.windowSumMs += report.durationMs;
  }

  /** Records per second arriving on the topics. */
  get arrivalRate(): number | undefined {
    return this.rate;
  }

  /** The sink's unloaded latency in seconds: of a request of the largest batch remembered. */
  get latencySeconds(): number | undefined {
    this.rollWindow();
    const windows = this.windowCount > 0 ? [...this.windows, { fastestMs: this.fastestMs, records: this.windowRecords }] : this.windows;
    if (windows.length === 0) return undefined;
    let best = windows[0]!;
    for (const w of windows) if (outranks(w.fastestMs, w.records, best.fastestMs, best.records)) best = w;
    return best.fastestMs / 1000;
  }

  /** The mean latency of the last complete second's successful attempts, queueing included, in seconds. */
  get recentLatencySeconds(): number | undefined {
    this.rollWindow();
    return this.lastMeanMs === undefined ? undefined : this.lastMeanMs / 1000;
  }
  /** Requests that would be in flight to serve the arrivals without a queue. */
  get concurrency(): number | undefined {
    const latency = this.latencySeconds;
    return this.rate === undefined || latency === undefined ? undefined : this.rate * latency;
  }

  private rollWindow(): void {
    const now = this.now();
    if (now - this.windowStart < this.windowMs) return;
    if (this.windowCount > 0) {
      this.lastMeanMs = this.windowSumMs / this.windowCount;
      this.windows.push({ fastestMs: this.fastestMs, records: this.windowRecords });
      if (this.windows.length > this.latencyWindows) this.windows.shift();
    }
    this.fastestMs = 0;
    this.windowRecords = 0;
    this.windowCount = 0;
    this.windowSumMs = 0;
    this.windowStart = now;
  }
}

/** Whether a request of `records` taking `ms` says more of the loaded latency: a larger batch, or as large and faster. */
function outranks(ms: number, records: number, thanMs: number, thanRecords: number): boolean {
  return records > thanRecords || (records === thanRecords && ms < thanMs);
}
