import type { KafkaRecord } from '../source/record.js';
import type { AttemptReport, DispatchListener } from './outcome.js';
import { isRetriableStatus } from './retry-policy.js';

/** How a wait for a retry ended. */
export type WaitEnd = 'elapsed' | 'recovered' | 'probe' | 'aborted';

export interface SinkRecoveryOptions {
  /** Retriable failures in a row (no answer, 5xx, 429...) before the sink can count as down. */
  downAfterFailures?: number;
  /**
   * How often the circuit looks: the sink is down when, besides those failures, nothing answered for
   * this long; then one waiting retry goes this often as a probe.
   */
  probeIntervalMs?: number;
  /** Told when the sink goes down or comes back, with the retries waiting. */
  onChange?: (down: boolean, waiting: number) => void;
  now?: () => number;
}

interface Waiter {
  resolve: (end: WaitEnd) => void;
}

/**
 * The sink's circuit: a listener of every attempt that knows whether the sink is down, and the
 * place retries wait. Exponential backoff alone leaves records waiting minutes after an outage
 * ends (Knative's default waits 153 s and 307 s before its last retries); here, while the sink is
 * down, one waiting retry every `probeIntervalMs` goes early as a probe, and the first answer wakes
 * every waiting retry at once. Probes do not count against a record's retries, so the retry count
 * still decides when a record is given up.
 *
 * "Down" needs failures in a row and no answer for a whole interval: a sink that answers others
 * while refusing a few records is up, and those records keep their own backoff.
 */
export class SinkRecovery implements DispatchListener {
  private failuresInARow = 0;
  private lastAnswerAt = Number.NEGATIVE_INFINITY;
  private down = false;
  private readonly waiters = new Set<Waiter>();
  private timer: NodeJS.Timeout | undefined;
  private readonly downAfterFailures: number;
  private readonly probeIntervalMs: number;
  private readonly now: () => number;

  constructor(private readonly options: SinkRecoveryOptions = {}) {
    this.downAfterFailures = options.downAfterFailures ?? 2;
    this.probeIntervalMs = options.probeIntervalMs ?? 1000;
    this.now = options.now ?? (() => performance.now());
  }

  get isDown(): boolean {
    return this.down;
  }

  /** Retries waiting now. */
  get waiting(): number {
    return this.waiters.size;
  }

  onAttempt(_record: KafkaRecord, report: AttemptReport): void {
    if (report.target !== 'sink') return;
    const answered = report.error === undefined && report.status !== undefined && !isRetriableStatus(report.status);
    if (answered) this.answered();
    else this.failuresInARow++;
  }

  /**
   * Waits `ms`, unless the sink comes back first ('recovered'), this waiter is chosen as a probe
   * ('probe'), or `signal` aborts ('aborted').
   */
  wait(ms: number, signal?: AbortSignal): Promise<WaitEnd> {
    if (signal?.aborted) return Promise.resolve('aborted');
    return new Promise((resolve) => {
      const waiter: Waiter = { resolve: (end) => finish(end) };
      const timer = setTimeout(() => finish('elapsed'), ms);
      const onAbort = () => finish('aborted');
      const finish = (end: WaitEnd) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(waiter);
        if (this.waiters.size === 0) this.stopWatching();
        resolve(end);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
      this.watch();
    });
  }

  private answered(): void {
    this.failuresInARow = 0;
    this.lastAnswerAt = this.now();
    if (!this.down) return;
    this.down = false;
    const woken = [...this.waiters];
    this.options.onChange?.(false, woken.length);
    for (const waiter of woken) waiter.resolve('recovered');
  }

  /** While retries wait: decide whether the sink is down, and if so let the longest-waiting one probe. */
  private watch(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (!this.down) {
        if (this.failuresInARow < this.downAfterFailures || this.now() - this.lastAnswerAt < this.probeIntervalMs) return;
        this.down = true;
        this.options.onChange?.(true, this.waiters.size);
      }
      // A failed probe waits again, at the back.
      const first = this.waiters.values().next();
      if (!first.done) first.value.resolve('probe');
    }, this.probeIntervalMs);
    this.timer.unref();
  }

  private stopWatching(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
