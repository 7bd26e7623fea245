import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from '../telemetry/logger.js';
import { partitionId, type KafkaRecord } from './record.js';
import { roundRobinHoldingJoin } from './rejoin-hold.js';

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface KafkaSourceOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  fromBeginning: boolean;
  maxBytesPerPartition: number;
  sessionTimeoutMs: number;
  logger: Logger;
  /** Longest a fetch waits for data; also how long a fetch loop with every partition paused sleeps. */
  maxWaitMs: number;
}

/** What the source hands its records and group events to, from `start` on. */
export interface KafkaSourceHandlers {
  /** Takes the records of one fetched batch, in offset order. Must not block. */
  onRecords: (records: KafkaRecord[]) => void;
  /** True when the buffer is full: the partition whose batch just arrived is paused. */
  isFull: () => boolean;
  onRebalancing?: () => void;
  /**
   * Before every (re)join of the group, which waits for it: the moment to let in-flight work of
   * partitions about to move finish, and commit it. Bounded by the caller.
   */
  beforeRejoin?: () => Promise<void>;
  /** The partitions this member owns after a (re)join, and those it lost. */
  onAssignment?: (assigned: TopicPartitions[], revoked: TopicPartitions[]) => void;
  onCrash?: (error: Error, restarting: boolean) => void;
}

/**
 * The Kafka side: a consumer group member that fetches batches and hands their records on at once.
 * Offsets are never committed here on kafkajs's own schedule (`autoCommit: false`): the offset
 * manager commits what dispatch finished. Backpressure pauses a partition's fetching while its
 * buffer is full, so memory stays bounded however large the lag. Made before the parts that commit
 * through it; its records and events go to the handlers given to `start`.
 */
export class KafkaSource {
  readonly consumer: Consumer;
  private readonly paused = new Map<string, { topic: string; partition: number }>();
  private assignment: TopicPartitions[] = [];
  private joined = false;
  private stopping = false;
  private handlers: KafkaSourceHandlers | undefined;

  constructor(private readonly options: KafkaSourceOptions) {
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.min(3000, Math.floor(options.sessionTimeoutMs / 3))),
      maxWaitTimeInMs: options.maxWaitMs,
      maxBytesPerPartition: options.maxBytesPerPartition,
      allowAutoTopicCreation: false,
      partitionAssigners: [
        roundRobinHoldingJoin(() => (this.joined ? (this.handlers?.beforeRejoin?.() ?? Promise.resolve()) : Promise.resolve())),
      ],
    });
  }

  get isJoined(): boolean {
    return this.joined;
  }

  get assigned(): TopicPartitions[] {
    return this.assignment;
  }

  async start(handlers: KafkaSourceHandlers): Promise<void> {
    this.handlers = handlers;
    const events = this.consumer.events;
    this.consumer.on(events.REBALANCING, () => handlers.onRebalancing?.());
    this.consumer.on(events.GROUP_JOIN, ({ payload }) => {
      this.joined = true;
      const next = Object.entries(payload.memberAssignment).map(([topic, partitions]) => ({ topic, partitions: [...partitions] }));
      const revoked = difference(this.assignment, next);
      this.assignment = next;
      // kafkajs keeps a partition's pause across assignments: a revoked partition paused here would
      // stay paused for good if it came back later, with nobody left to resume it.
      const unpause = revoked
        .map((tp) => ({ topic: tp.topic, partitions: tp.partitions.filter((p) => this.paused.delete(partitionId(tp.topic, p))) }))
        .filter((tp) => tp.partitions.length > 0);
      if (unpause.length > 0 && !this.stopping) this.consumer.resume(unpause);
      handlers.onAssignment?.(next, revoked);
    });
    this.consumer.on(events.CRASH, ({ payload }) => handlers.onCrash?.(payload.error, payload.restart));
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.options.topics, fromBeginning: this.options.fromBeginning });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.onBatch(payload, handlers),
    });
  }

  get hasPaused(): boolean {
    return this.paused.size > 0;
  }

  /** Resumes every partition paused by a full buffer. Cheap when none is. */
  resumePaused(): void {
    // After pauseAll (a stop) nothing resumes: resuming a partition would undo the pause of its topic.
    if (this.paused.size === 0 || this.stopping) return;
    const byTopic = new Map<string, number[]>();
    for (const tp of this.paused.values()) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
    this.paused.clear();
    this.consumer.resume([...byTopic].map(([topic, partitions]) => ({ topic, partitions })));
  }

  /** Stops fetching without leaving the group, so in-flight work can finish and be committed. */
  pauseAll(): void {
    this.stopping = true;
    if (this.assignment.length > 0) this.consumer.pause(this.assignment.map((tp) => ({ topic: tp.topic })));
  }

  async commit(offsets: Array<{ topic: string; partition: number; offset: string }>): Promise<void> {
    await this.consumer.commitOffsets(offsets);
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }

  private async onBatch({ batch, isRunning, isStale }: EachBatchPayload, handlers: KafkaSourceHandlers): Promise<void> {
    if (!isRunning() || isStale()) return;
    const { topic, partition } = batch;
    const records: KafkaRecord[] = new Array(batch.messages.length);
    for (let i = 0; i < batch.messages.length; i++) {
      const m = batch.messages[i]!;
      records[i] = {
        topic,
        partition,
        offset: Number(m.offset),
        key: m.key ?? null,
        value: m.value ?? null,
        headers: m.headers ?? {},
        timestamp: Number(m.timestamp),
      };
    }
    handlers.onRecords(records);
    if (handlers.isFull()) {
      this.paused.set(partitionId(topic, partition), { topic, partition });
      this.consumer.pause([{ topic, partitions: [partition] }]);
    }
  }
}

function difference(before: TopicPartitions[], after: TopicPartitions[]): TopicPartitions[] {
  const kept = new Set(after.flatMap((tp) => tp.partitions.map((p) => partitionId(tp.topic, p))));
  return before
    .map((tp) => ({ topic: tp.topic, partitions: tp.partitions.filter((p) => !kept.has(partitionId(tp.topic, p))) }))
    .filter((tp) => tp.partitions.length > 0);
}
