import type { DispatchListener } from '../dispatch/outcome.js';
import type { Logger } from '../telemetry/logger.js';
import { partitionId, type KafkaRecord } from '../source/record.js';
import { OffsetTracker } from './offset-tracker.js';

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to consume, as Kafka wants it committed. */
  offset: string;
}

interface Entry {
  topic: string;
  partition: number;
  tracker: OffsetTracker;
  committed: number | undefined;
}

export interface OffsetManagerOptions {
  commit: (offsets: TopicPartitionOffset[]) => Promise<void>;
  intervalMs: number;
  logger: Logger;
}

/**
 * Listens to dispatch outcomes (a dispatch listener, as Knative's offset manager is a
 * RecordDispatcherListener) and commits, per partition, only the contiguous prefix of finished
 * records: never past one that is still queued, in flight or waiting to retry.
 */
export class OffsetManager implements DispatchListener {
  private readonly trackers = new Map<string, Entry>();
  /** The same entries by topic and partition number: the per-record path builds no key strings. */
  private readonly byTopic = new Map<string, Array<Entry | undefined>>();
  private timer: NodeJS.Timeout | undefined;
  private committing: Promise<void> = Promise.resolve();

  constructor(private readonly options: OffsetManagerOptions) {}

  /** False when the record was already registered (re-fetched after a rebalance): don't dispatch it again. */
  register(record: KafkaRecord): boolean {
    let entry = this.entryOf(record.topic, record.partition);
    if (!entry) {
      entry = { topic: record.topic, partition: record.partition, tracker: new OffsetTracker(), committed: undefined };
      this.trackers.set(partitionId(record.topic, record.partition), entry);
      let partitions = this.byTopic.get(record.topic);
      if (!partitions) this.byTopic.set(record.topic, (partitions = []));
      partitions[record.partition] = entry;
    }
    return entry.tracker.register(record.offset, record.timestamp);
  }

  /** A record finished (delivered, dead-lettered, skipped or discarded). Late news of a revoked partition is ignored. */
  onFinished(record: KafkaRecord): void {
    this.entryOf(record.topic, record.partition)?.tracker.finish(record.offset);
  }

  private entryOf(topic: string, partition: number): Entry | undefined {
    return this.byTopic.get(topic)?.[partition];
  }

  start(): void {
    this.timer = setInterval(() => void this.commit().catch(() => {}), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Commits what can be committed; calls are serialised so commits never go backwards. */
  commit(): Promise<void> {
    this.committing = this.committing.then(
      () => this.commitNow(),
      () => this.commitNow(),
    );
    return this.committing;
  }

  /**
   * Forgets partitions this member no longer owns. Their finished offsets were committed when the
   * rebalance began; committing now could overwrite the new owner's progress.
   */
  forget(partitions: Array<{ topic: string; partition: number }>): void {
    for (const { topic, partition } of partitions) {
      this.trackers.delete(partitionId(topic, partition));
      const byPartition = this.byTopic.get(topic);
      if (byPartition) byPartition[partition] = undefined;
    }
  }

  /** Unfinished records per partition, for drain logs and lag in seconds. */
  unfinished(): number {
    let total = 0;
    for (const entry of this.trackers.values()) total += entry.tracker.unfinished;
    return total;
  }

  /** Per owned partition: seconds since the oldest unfinished record's timestamp, 0 when none waits. */
  lagSeconds(now = Date.now()): Array<{ topic: string; partition: number; seconds: number }> {
    const out = [];
    for (const entry of this.trackers.values()) {
      const oldest = entry.tracker.oldestUnfinishedTimestamp();
      out.push({ topic: entry.topic, partition: entry.partition, seconds: oldest === undefined ? 0 : Math.max(0, (now - oldest) / 1000) });
    }
    return out;
  }

  committedOffsets(): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const entry of this.trackers.values()) {
      if (entry.committed !== undefined) out.push({ topic: entry.topic, partition: entry.partition, offset: String(entry.committed) });
    }
    return out;
  }

  private async commitNow(): Promise<void> {
    const due: Array<{ entry: { committed: number | undefined }; offset: TopicPartitionOffset; next: number }> = [];
    for (const entry of this.trackers.values()) {
      const next = entry.tracker.committable();
      if (next !== undefined && next !== entry.committed) {
        due.push({ entry, next, offset: { topic: entry.topic, partition: entry.partition, offset: String(next) } });
      }
    }
    if (due.length === 0) return;
    try {
      await this.options.commit(due.map((d) => d.offset));
      for (const d of due) d.entry.committed = d.next;
      this.options.logger.debug({ offsets: due.map((d) => d.offset) }, 'offsets committed');
    } catch (error) {
      this.options.logger.warn({ err: error, offsets: due.map((d) => d.offset) }, 'offset commit failed; will retry');
      throw error;
    }
  }
}
