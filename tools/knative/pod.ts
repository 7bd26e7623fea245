/** One pod of the revision: its lifecycle and its queue-proxy. */
import { QueueProxy } from './queue-proxy.js';

export type PodState = 'starting' | 'ready' | 'draining' | 'gone';

export class Pod {
  state: PodState = 'starting';
  readonly queueProxy: QueueProxy;
  /** The timer that makes a starting pod ready. */
  startTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: number,
    containerConcurrency: number,
    /** Scenario ms when the pod was asked for. */
    readonly askedAtMs: number,
  ) {
    this.queueProxy = new QueueProxy(containerConcurrency);
  }

  /** Requests inside this pod: running in the container or queued in its queue-proxy. */
  get inFlight(): number {
    return this.queueProxy.inFlight;
  }
}
