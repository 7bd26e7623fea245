export interface RestartPolicyOptions {
  /** Restarts allowed within `windowMs`; one more and the pool gives up. */
  maxRestarts: number;
  windowMs: number;
  /** The first restart's delay; each further restart within the window doubles it, up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = { maxRestarts: 5, windowMs: 60_000, initialDelayMs: 500, maxDelayMs: 8000 };

/**
 * When a member that died is started again, of one member slot. A member that dies now and then
 * (a crash the consumer could not recover from) is restarted after a short, growing delay; one that
 * keeps dying (a bad sink certificate, a broker refusing it) would only churn the group's
 * rebalances, so past `maxRestarts` within `windowMs` the pod exits 1 and Kubernetes' own restart
 * backoff, and its events, take over.
 */
export class RestartPolicy {
  private readonly restarts: number[] = [];

  constructor(private readonly options: RestartPolicyOptions = DEFAULT_RESTART_POLICY) {}

  /** The delay before restarting a member that died at `now` (the restart is counted), or undefined: give up. */
  nextRestartDelay(now: number): number | undefined {
    const { maxRestarts, windowMs, initialDelayMs, maxDelayMs } = this.options;
    while (this.restarts.length > 0 && this.restarts[0]! <= now - windowMs) this.restarts.shift();
    if (this.restarts.length >= maxRestarts) return undefined;
    this.restarts.push(now);
    return Math.min(maxDelayMs, initialDelayMs * 2 ** (this.restarts.length - 1));
  }

  /** Restarts counted within the window ending at `now`. */
  recent(now: number): number {
    return this.restarts.filter((at) => at > now - this.options.windowMs).length;
  }
}
