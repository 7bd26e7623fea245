import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../telemetry/logger.js';
import { MemberRequests } from './member-requests.js';
import { isFromMember, MEMBER_ENV, type ToMember } from './messages.js';
import { MetricsMerge } from './metrics-merge.js';
import { poolNotReadyReason, type MemberState } from './pool-readiness.js';
import { DEFAULT_RESTART_POLICY, RestartPolicy, type RestartPolicyOptions } from './restart-policy.js';

export interface MemberPoolOptions {
  /** Members to run (CONSUMERS). */
  size: number;
  /** Each member drains within this (SHUTDOWN_GRACE); the pool waits this plus `exitMarginMs` for them. */
  graceMs: number;
  logger: Logger;
  restartPolicy?: RestartPolicyOptions;
  /** How long a scrape waits for a member's metrics. Default 2000 ms. */
  metricsTimeoutMs?: number;
  /** How long /readyz waits for a member's answer: below a kubelet probe's default 1 s timeout. Default 800 ms. */
  readyTimeoutMs?: number;
  /** Kept of a pod's termination grace for the members to exit after their drain. Default 3000 ms. */
  exitMarginMs?: number;
}

interface Slot {
  member: number;
  worker: Worker | undefined;
  /** The running worker said it joined its group. */
  started: boolean;
  /** Some worker of this slot once started: a death is then a restart, not a failed start. */
  everStarted: boolean;
  policy: RestartPolicy;
  restartTimer: NodeJS.Timeout | undefined;
}

/**
 * CONSUMERS > 1: that many `kafka-dispatch run` members forked with node:cluster, each today's
 * dispatcher in its own process and one consumer-group member (the group protocol spreads the
 * partitions among them as among replicas). The pool restarts a member that dies (RestartPolicy),
 * gives up — every member stopped, exit 1 — when one fails to start or keeps dying, and answers for
 * them all: one /metrics (MetricsMerge), one /readyz (every member ready), one drain.
 */
export class MemberPool {
  private readonly slots: Slot[];
  private readonly merge = new MetricsMerge();
  private readonly requests = new MemberRequests();
  private stopping: Promise<number> | undefined;
  private giveUp!: (reason: string) => void;
  /** Resolves with the reason when the pool gives up on its own; never when it is stopped. */
  readonly gaveUp = new Promise<string>((resolve) => (this.giveUp = resolve));

  constructor(private readonly options: MemberPoolOptions) {
    this.slots = Array.from({ length: options.size }, (_, i) => ({
      member: i + 1,
      worker: undefined,
      started: false,
      everStarted: false,
      policy: new RestartPolicy(options.restartPolicy ?? DEFAULT_RESTART_POLICY),
      restartTimer: undefined,
    }));
    // A second signal exits the primary at once (code 130): its members must not outlive it, nor
    // commit what they had not finished.
    process.on('exit', () => {
      for (const slot of this.slots) slot.worker?.process.kill('SIGKILL');
    });
  }

  /** Forks every member; they join their group on their own (`/readyz` says when all have). */
  start(): void {
    for (const slot of this.slots) this.fork(slot);
  }

  /**
   * The one drain: every member is told to stop and drains as a single dispatcher does; resolves
   * with 0 when all exited 0 within the grace, else 1 (after SIGKILLing those still running).
   */
  stop(): Promise<number> {
    return (this.stopping ??= this.stopAll());
  }

  /** `/metrics`: every member's registry merged, plus the counts of members that left. */
  async metrics(): Promise<string> {
    await Promise.all(
      this.slots.map(async ({ worker, started }) => {
        if (!worker || !started) return;
        const answer = await this.requests.ask(worker, 'metrics', this.options.metricsTimeoutMs ?? 2000);
        // No answer: its last snapshot stands in, so the counters do not drop for a scrape.
        if (answer?.metrics) this.merge.update(worker.id, answer.metrics);
      }),
    );
    return this.merge.registry().metrics();
  }

  /** `/readyz`: undefined only when every member is ready. */
  async notReadyReason(): Promise<string | undefined> {
    const states = await Promise.all(
      this.slots.map(async ({ member, worker, started, everStarted }): Promise<MemberState> => {
        if (!worker || !started) return { member, state: everStarted ? 'restarting' : 'starting' };
        const timeoutMs = this.options.readyTimeoutMs ?? 800;
        const answer = await this.requests.ask(worker, 'ready', timeoutMs);
        if (!answer) return { member, state: 'running', notReady: `no answer within ${timeoutMs} ms` };
        return { member, state: 'running', notReady: answer.notReady ?? undefined };
      }),
    );
    return poolNotReadyReason(this.stopping !== undefined, states);
  }

  private fork(slot: Slot): void {
    slot.restartTimer = undefined;
    const worker = cluster.fork({ [MEMBER_ENV]: String(slot.member) });
    slot.worker = worker;
    slot.started = false;
    worker.on('message', (message: unknown) => {
      if (!isFromMember(message)) return;
      if (message.kd === 'started') {
        slot.started = true;
        slot.everStarted = true;
        this.options.logger.info({ member: slot.member, pid: worker.process.pid }, 'member started');
      } else if (message.kd === 'answer') this.requests.answered(message);
    });
    worker.on('exit', (code, signal) => this.exited(slot, worker, code, signal));
  }

  private exited(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    this.merge.retire(worker.id);
    if (slot.worker === worker) {
      slot.worker = undefined;
      slot.started = false;
    }
    if (this.stopping) return;
    const { logger } = this.options;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (!slot.everStarted) {
      logger.fatal({ member: slot.member, code, signal }, `member ${slot.member} exited (${how}) before it started: stopping the pod`);
      this.giveUp(`member ${slot.member} failed to start`);
      void this.stop();
      return;
    }
    const delay = slot.policy.nextRestartDelay(Date.now());
    if (delay === undefined) {
      const { maxRestarts, windowMs } = this.options.restartPolicy ?? DEFAULT_RESTART_POLICY;
      logger.fatal(
        { member: slot.member, code, signal, restarts: maxRestarts, windowMs },
        `member ${slot.member} keeps dying (${how}; restarted ${maxRestarts} times within ${windowMs / 1000} s): stopping the pod`,
      );
      this.giveUp(`member ${slot.member} keeps dying`);
      void this.stop();
      return;
    }
    logger.error({ member: slot.member, code, signal, restartInMs: delay }, `member ${slot.member} died (${how}): restarting it`);
    slot.restartTimer = setTimeout(() => this.fork(slot), delay);
  }

  private async stopAll(): Promise<number> {
    const { logger, graceMs } = this.options;
    const running: Array<{ slot: Slot; worker: Worker; exit: Promise<boolean> }> = [];
    for (const slot of this.slots) {
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
      const worker = slot.worker;
      if (!worker || worker.isDead()) continue;
      const exit = new Promise<boolean>((resolve) => worker.once('exit', (code, signal) => resolve(code === 0 && !signal)));
      running.push({ slot, worker, exit });
      try {
        worker.send({ kd: 'stop' } satisfies ToMember);
      } catch {
        // Its channel is closed: the member sees the disconnect and stops all the same.
      }
    }
    logger.info({ members: running.length, graceMs }, 'stopping every member');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>(
      (resolve) => (timer = setTimeout(() => resolve('late'), graceMs + (this.options.exitMarginMs ?? 3000))),
    );
    const outcome = await Promise.race([Promise.all(running.map((r) => r.exit)), late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      const stuck = running.filter((r) => !r.worker.isDead()).map((r) => r.slot.member);
      logger.error({ members: stuck }, `members ${stuck.join(', ')} did not exit within the grace period: killing them`);
      for (const r of running) if (!r.worker.isDead()) r.worker.process.kill('SIGKILL');
      return 1;
    }
    const failed = running.filter((_, i) => !outcome[i]).map((r) => r.slot.member);
    if (failed.length > 0) logger.error({ members: failed }, 'members did not stop cleanly');
    else logger.info({ members: running.length }, 'every member stopped');
    return failed.length > 0 ? 1 : 0;
  }
}
