import type { Admin } from 'kafkajs';
import type { InitialOffset } from '../config/settings.js';
import type { Logger } from './logger.js';
import { LagReader } from './lag.js';
import type { DispatchMetrics } from './metrics.js';
import { withTimeout } from '../util/timers.js';

/**
 * How long a lag read may take before the brokers count as unreachable. kafkajs retries a lost
 * broker for up to 30 s on its own; readiness must not wait for that.
 */
export const BROKER_ANSWER_TIMEOUT_MS = 3000;

export interface LagCollectorOptions {
  admin: Admin;
  groupId: string;
  topics: string[];
  initialOffset: InitialOffset;
  intervalMs: number;
  metrics: DispatchMetrics;
  logger: Logger;
  /** Lag in seconds of the partitions this member owns, from the offset manager. */
  ownLagSeconds: () => Array<{ topic: string; partition: number; seconds: number }>;
  committedOffsets: () => Array<{ topic: string; partition: string | number; offset: string }>;
  /** After every read: its failure, or undefined when the brokers answered. */
  onRefreshed?: (failure: Error | undefined) => void;
  /**
   * After each read that succeeded: the sum of the end offsets read (the arrivals' clock), the
   * group's lag and the partitions read.
   */
  onEndOffsets?: (total: number, lag: number, partitions: number) => void;
  /** Default BROKER_ANSWER_TIMEOUT_MS. */
  answerTimeoutMs?: number;
}

/**
 * Reads the group's lag for every partition of its topics — also those other replicas own, so one
 * scrape shows the whole group — on an interval, into the metrics. A failed or unanswered read
 * means the brokers are unreachable; `/readyz` reports it within the interval plus the answer timeout.
 */
export class LagCollector {
  private readonly reader: LagReader;
  private timer: NodeJS.Timeout | undefined;
  private lastError: Error | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: LagCollectorOptions) {
    this.reader = new LagReader(options.admin);
  }

  /** Undefined while the last read succeeded. */
  get failure(): Error | undefined {
    return this.lastError;
  }

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One read; concurrent calls share it. */
  refresh(): Promise<void> {
    this.running ??= this.read().finally(() => (this.running = undefined));
    return this.running;
  }

  private async read(): Promise<void> {
    const { metrics, groupId } = this.options;
    this.refreshOwn();
    try {
      const timeoutMs = this.options.answerTimeoutMs ?? BROKER_ANSWER_TIMEOUT_MS;
      const lag = await withTimeout(
        this.reader.read(groupId, this.options.topics, this.options.initialOffset),
        timeoutMs,
        `no answer from the brokers within ${timeoutMs} ms`,
      );
      metrics.lag.reset();
      for (const p of lag.partitions) metrics.lag.set({ group: groupId, topic: p.topic, partition: String(p.partition) }, p.lag);
      this.options.onEndOffsets?.(
        lag.partitions.reduce((sum, p) => sum + p.endOffset, 0),
        lag.total,
        lag.partitions.length,
      );
      metrics.groupLag.reset();
      for (const [topic, total] of Object.entries(lag.totalByTopic)) metrics.groupLag.set({ group: groupId, topic }, total);
      if (this.lastError) this.options.logger.info('brokers answer again: lag refreshed');
      this.lastError = undefined;
    } catch (error) {
      metrics.lagRefreshFailures.inc();
      if (!this.lastError) this.options.logger.warn({ err: error }, 'lag refresh failed: brokers unreachable?');
      this.lastError = error as Error;
    }
    this.options.onRefreshed?.(this.lastError);
  }

  /** What this member knows without asking the brokers. */
  private refreshOwn(): void {
    const { metrics, groupId } = this.options;
    metrics.lagSeconds.reset();
    metrics.groupLagSeconds.reset();
    const maxByTopic = new Map<string, number>();
    for (const { topic, partition, seconds } of this.options.ownLagSeconds()) {
      metrics.lagSeconds.set({ group: groupId, topic, partition: String(partition) }, seconds);
      maxByTopic.set(topic, Math.max(maxByTopic.get(topic) ?? 0, seconds));
    }
    for (const [topic, seconds] of maxByTopic) metrics.groupLagSeconds.set({ group: groupId, topic }, seconds);
    metrics.committedOffset.reset();
    for (const c of this.options.committedOffsets())
      metrics.committedOffset.set({ topic: c.topic, partition: String(c.partition) }, Number(c.offset));
  }
}
