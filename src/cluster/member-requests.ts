import type { Worker } from 'node:cluster';
import type { FromMember } from './messages.js';

export type Answer = Extract<FromMember, { kd: 'answer' }>;

/**
 * The primary's questions to its members (their metrics, their readiness) and the answers, matched
 * by id. A member that does not answer in time, or dies first, answers `undefined`: a scrape or a
 * probe never waits on a stuck member for longer than its timeout.
 */
export class MemberRequests {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (answer: Answer | undefined) => void; timer: NodeJS.Timeout }>();

  ask(worker: Worker, what: 'metrics' | 'ready', timeoutMs: number): Promise<Answer | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(id, undefined), timeoutMs);
      this.pending.set(id, { resolve, timer });
      try {
        worker.send({ kd: 'ask', id, what }, (error: Error | null) => {
          if (error) this.settle(id, undefined);
        });
      } catch {
        this.settle(id, undefined);
      }
    });
  }

  /** A member's answer, handed over by the pool's message listener. */
  answered(answer: Answer): void {
    this.settle(answer.id, answer);
  }

  private settle(id: number, answer: Answer | undefined): void {
    const request = this.pending.get(id);
    if (!request) return;
    this.pending.delete(id);
    clearTimeout(request.timer);
    request.resolve(answer);
  }
}
