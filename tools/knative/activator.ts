/**
 * The activator: while it is in the request path (the revision has no ready pod, or its excess
 * burst capacity is negative) it holds requests and forwards each one only to a pod with a free
 * slot, oldest first.
 *
 * `knative.dev/serving` `pkg/activator/net/throttler.go`: the revision's breaker queues up to
 * `breakerQueueDepth` = 10000 requests (beyond that `ErrRequestQueueFull`), and a pod gets at most
 * containerConcurrency requests from it. `pkg/activator/handler/handler.go`: `ErrRequestQueueFull`
 * and a deadline answer 503; the activator's request timeout (the revision's `timeoutSeconds`,
 * `revision-timeout-seconds` default 300 s) answers 504 `activator request timeout`.
 */
import type { Clock } from './clock.js';
import type { Pod } from './pod.js';
import { QUEUE_FULL_MESSAGE, type Release } from './queue-proxy.js';

export const ACTIVATOR_QUEUE_DEPTH = 10_000;
export const ACTIVATOR_TIMEOUT_MESSAGE = 'activator request timeout';

export type HoldResult = { pod: Pod; admitted: Promise<Release> } | { status: 503 | 504; message: string };

interface Waiter {
  resolve: (r: HoldResult) => void;
  timer: NodeJS.Timeout;
}

export class Activator {
  private readonly waiters: Waiter[] = [];

  constructor(
    private readonly clock: Clock,
    /** The ready pod with a free slot that should take the next request (least loaded), if any. */
    private readonly podWithFreeSlot: () => Pod | undefined,
    readonly timeoutMs: number,
    readonly queueDepth = ACTIVATOR_QUEUE_DEPTH,
  ) {}

  get held(): number {
    return this.waiters.length;
  }

  /** Hold a request until a pod has a free slot (then it is admitted there), or time out. */
  hold(signal?: AbortSignal): Promise<HoldResult> {
    if (this.waiters.length >= this.queueDepth) return Promise.resolve({ status: 503, message: QUEUE_FULL_MESSAGE });
    return new Promise<HoldResult>((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: this.clock.setTimeout(() => this.remove(waiter, { status: 504, message: ACTIVATOR_TIMEOUT_MESSAGE }), this.timeoutMs),
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', () => this.remove(waiter, { status: 503, message: 'client gone' }), { once: true });
      this.drain();
    });
  }

  /** Forward held requests while pods have free slots (call when a pod is ready or a slot frees). */
  drain(): void {
    while (this.waiters.length > 0) {
      const pod = this.podWithFreeSlot();
      if (!pod) return;
      const admitted = pod.queueProxy.enter();
      if (!admitted) return;
      const waiter = this.waiters.shift()!;
      clearTimeout(waiter.timer);
      waiter.resolve({ pod, admitted });
    }
  }

  /** Answer every held request (the service is closing). */
  failAll(result: HoldResult): void {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve(result);
    }
  }

  private remove(waiter: Waiter, result: HoldResult): void {
    const i = this.waiters.indexOf(waiter);
    if (i < 0) return;
    this.waiters.splice(i, 1);
    clearTimeout(waiter.timer);
    waiter.resolve(result);
  }
}
