import { SinkResponseError, type DispatchError } from '../errors.js';
import type { KafkaRecord } from '../source/record.js';
import type { AttemptReport, DispatchListener } from './outcome.js';

/** How a wait for a retry ended. */
export type WaitEnd = 'elapsed' | 'recovered' | 'probe' | 'aborted';

/** Statuses by which a service (Knative's activator and queue-proxy, a gateway) says it is unavailable or overloaded. */
const UNAVAILABLE_STATUSES = new Set([429, 502, 503, 504]);

/**
 * A failure that says the sink cannot take requests now, rather than that it refused this record:
 * no answer in time, nobody at the address yet, or 429/502/503/504. A 500 is the record's.
 */
export function isUnavailable(error: DispatchError): boolean {
  if (error.code === 'KD_SINK_TIMEOUT') return true;
  if (error.code === 'KD_SINK_TRANSPORT') return UNREACHABLE_CODES.has(transportCode(error) ?? '');
  return error instanceof SinkResponseError && UNAVAILABLE_STATUSES.has(error.status);
}

/**
 * Transport failures that mean nobody is there to answer yet (refused, reset, unreachable, a
 * connection that timed out or closed). A certificate that does not verify, a DNS name that does not
 * exist or a malformed answer is a misconfiguration or a broken sink: those count as failures.
 */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function transportCode(error: DispatchError): string | undefined {
  const cause = error.cause as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = cause?.code ?? cause?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

/** `isUnavailable` for an attempt report: the overload signal adaptive concurrency backs off on. */
export function isOverloadSignal(report: AttemptReport): boolean {
  if (report.error !== undefined) return isUnavailable(report.error);
  return report.status !== undefined && UNAVAILABLE_STATUSES.has(report.status);
}

export interface SinkRecoveryOptions {
  /** Unavailability failures in a row (no answer, no connection, 429/502/503/504) before the sink can count as down. */
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
 *
 * While it is down, waits do not end on their own: a sink unavailable as a whole (a service
 * cold-starting from zero, every request timing out or answered 503) is not the records' failure,
 * so they hold, without spending their retries, until a probe gets through.
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
    this.downAfterFailures = options.downAfterFailures ?? 1;
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
    // Any answer but an unavailability one shows the sink up, a 500 too: that record's failure is its own.
    if (isOverloadSignal(report)) this.failuresInARow++;
    else this.answered();
  }

  /**
   * Waits `ms`, unless the sink comes back first ('recovered'), this waiter is chosen as a probe
   * ('probe'), or `signal` aborts ('aborted'). While the sink is down the wait goes on past `ms`.
   */
  wait(ms: number, signal?: AbortSignal): Promise<WaitEnd> {
    if (signal?.aborted) return Promise.resolve('aborted');
    return new Promise((resolve) => {
      const waiter: Waiter = { resolve: (end) => finish(end) };
      let timer: NodeJS.Timeout | undefined;
      const elapse = () => {
        // Held: the probe or the recovery ends this wait.
        if (this.down) timer = setTimeout(elapse, this.probeIntervalMs);
        else finish('elapsed');
      };
      timer = setTimeout(elapse, ms);
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

  /**
   * After an attempt that found the sink unavailable: 'elapsed' at once when the sink answered
   * within the last interval (it is up; the failure is the record's), else once the circuit has
   * judged it up; while it is down, held as `wait` is until a probe or the recovery.
   */
  hold(signal?: AbortSignal): Promise<WaitEnd> {
    if (!this.down && this.now() - this.lastAnswerAt < this.probeIntervalMs) return Promise.resolve('elapsed');
    // A little past one tick of the circuit, so that its judgement comes first.
    return this.wait(this.probeIntervalMs * 1.5, signal);
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
