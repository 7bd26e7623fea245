/**
 * The queue-proxy's breaker in front of one pod's container.
 *
 * `knative.dev/serving` `pkg/queue/sharedmain/main.go` (`buildBreaker`): with containerConcurrency
 * ≥ 1, at most containerConcurrency requests run in the container and the queue depth is
 * 10 × containerConcurrency ("to allow the autoscaler time to react"); `pkg/queue/breaker.go`
 * (`Breaker.Maybe`): a request beyond queue + slots fails at once with `ErrRequestQueueFull`, which
 * the queue-proxy answers 503 `pending request queue full`. containerConcurrency 0: no breaker.
 */
export type Release = () => void;

export const QUEUE_FULL_MESSAGE = 'pending request queue full';

export class QueueProxy {
  private running = 0;
  private readonly waiting: Array<(release: Release) => void> = [];
  /** Called after every release (a slot freed): the service re-routes held requests. */
  onRelease: () => void = () => {};

  constructor(
    readonly containerConcurrency: number,
    readonly queueDepth = 10 * containerConcurrency,
  ) {}

  get executing(): number {
    return this.running;
  }
  get queued(): number {
    return this.waiting.length;
  }
  get inFlight(): number {
    return this.running + this.waiting.length;
  }
  /** A request admitted now would run at once. */
  get hasFreeSlot(): boolean {
    return this.containerConcurrency === 0 || this.running < this.containerConcurrency;
  }

  /**
   * Admit a request: a promise of its release function once it may run in the container, or null
   * when the queue is full (503). A slot that is free is taken synchronously.
   */
  enter(): Promise<Release> | null {
    if (this.hasFreeSlot) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.queueDepth) return null;
    return new Promise<Release>((resolve) => this.waiting.push(resolve));
  }

  private releaser(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiting.shift();
      if (next) next(this.releaser());
      else this.running--;
      this.onRelease();
    };
  }
}
