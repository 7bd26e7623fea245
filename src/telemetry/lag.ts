import { randomUUID } from 'node:crypto';
import { AssignerProtocol, type Admin, type Kafka } from 'kafkajs';
import type { InitialOffset } from '../config/settings.js';
import { partitionId } from '../source/record.js';
import { withTimeout } from '../util/timers.js';

/**
 * Consumer-group lag computed with KEDA's Kafka scaler rules (README.md, "kafka-dispatch lag"), so
 * that what `kafka-dispatch lag` prints is what the autoscaler of a KafkaSource sees.
 *
 * End offsets: kafkajs's `admin.fetchTopicOffsets` sends ListOffsets (v2+) with the admin cluster's
 * isolation level left undefined, and kafkajs's ListOffsets request then defaults it to
 * READ_COMMITTED (node_modules/kafkajs/src/protocol/requests/listOffsets/index.js). So `endOffset`
 * is the last stable offset (LSO) — the end of what our read_committed consumer can read. Kafka's
 * own `kafka-consumer-groups --describe` uses `new ListOffsetsOptions()`, i.e. READ_UNCOMMITTED, and
 * shows the high watermark: the two agree except while a transaction is open on the partition, when
 * ours is lower by the records of the open transaction (which no read_committed consumer can reach).
 */

/**
 * KEDA's per-partition lag. A known committed offset: max(0, end − committed). Never committed
 * (kafkajs reports offset -1, passed here as `undefined`): with `latest`, 1 — KEDA's value when
 * `scaleToZeroOnInvalidOffset` is false (its default; it would be 0 otherwise), so that a group that
 * has not started yet still gets one replica; with `earliest`, the end offset itself (KEDA uses the
 * latest offset, not end − log start, even when retention has deleted the head of the log).
 */
export function partitionLag(endOffset: number, committed: number | undefined, initialOffset: InitialOffset): number {
  if (committed === undefined || committed < 0) return initialOffset === 'latest' ? 1 : Math.max(0, endOffset);
  return Math.max(0, endOffset - committed);
}

export interface PartitionLag {
  topic: string;
  partition: number;
  /** The last stable offset (see above). */
  endOffset: number;
  /** undefined: the group never committed an offset for this partition. */
  committedOffset: number | undefined;
  lag: number;
  /** `clientId@host` of the member the partition is assigned to, when the group has active members. */
  owner?: string;
  /** The partition's log start offset (first offset retention kept). */
  logStartOffset?: number;
  /** Seconds between now and the timestamp of the oldest record not yet consumed; 0 when caught up. */
  lagSeconds?: number;
}

export interface GroupLag {
  groupId: string;
  partitions: PartitionLag[];
  totalByTopic: Record<string, number>;
  total: number;
}

export class LagReader {
  constructor(private readonly admin: Admin) {}

  /**
   * Lag of `groupId` on every partition of `topics` (all partitions, committed or not). With no
   * topics: the topics the group has committed offsets for, plus those assigned to its members.
   * Committed offsets are read before end offsets, as Kafka's tool does, so that under load a lag
   * is never negative because of the order of the reads.
   */
  async read(groupId: string, topics: string[], initialOffset: InitialOffset): Promise<GroupLag> {
    const owners = await this.owners(groupId);
    let wanted = [...new Set(topics)];
    if (wanted.length === 0) {
      const committedTopics = (await this.admin.fetchOffsets({ groupId })).map((t) => t.topic);
      const assignedTopics = [...owners.keys()].map((key) => key.slice(0, key.lastIndexOf('/')));
      wanted = [...new Set([...committedTopics, ...assignedTopics])].sort();
    }
    const committed = new Map<string, number>();
    if (wanted.length > 0) {
      for (const { topic, partitions } of await this.admin.fetchOffsets({ groupId, topics: wanted })) {
        for (const { partition, offset } of partitions) {
          const value = Number(offset);
          if (value >= 0) committed.set(partitionId(topic, partition), value);
        }
      }
    }
    const ends = await Promise.all(wanted.map(async (topic) => ({ topic, offsets: await this.admin.fetchTopicOffsets(topic) })));
    const partitions: PartitionLag[] = [];
    const totalByTopic: Record<string, number> = {};
    let total = 0;
    for (const { topic, offsets } of ends) {
      totalByTopic[topic] = 0;
      for (const entry of [...offsets].sort((a, b) => a.partition - b.partition)) {
        const key = partitionId(topic, entry.partition);
        const endOffset = Number(entry.high);
        const committedOffset = committed.get(key);
        const lag = partitionLag(endOffset, committedOffset, initialOffset);
        const owner = owners.get(key);
        partitions.push({
          topic,
          partition: entry.partition,
          endOffset,
          committedOffset,
          lag,
          ...(owner !== undefined ? { owner } : {}),
          logStartOffset: Number(entry.low),
        });
        totalByTopic[topic] += lag;
        total += lag;
      }
    }
    return { groupId, partitions, totalByTopic, total };
  }

  /** `topic/partition` → `clientId@host` of the active member it is assigned to (empty for an idle group). */
  async owners(groupId: string): Promise<Map<string, string>> {
    const owners = new Map<string, string>();
    const { groups } = await this.admin.describeGroups([groupId]);
    for (const group of groups) {
      if (group.protocolType !== 'consumer') continue;
      for (const member of group.members) {
        if (!member.memberAssignment || member.memberAssignment.length === 0) continue;
        let decoded;
        try {
          decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
        } catch {
          continue; // an assignment this decoder does not understand: no owner rather than a failure
        }
        if (!decoded) continue;
        const owner = `${member.clientId}@${member.clientHost.replace(/^\//, '')}`;
        for (const [topic, partitions] of Object.entries(decoded.assignment)) {
          for (const partition of partitions) owners.set(partitionId(topic, partition), owner);
        }
      }
    }
    return owners;
  }
}

/**
 * Timestamp (ms) of the first record at or after `offset` and before `endOffset` on each partition:
 * the oldest record the group has not consumed yet. Read with a throwaway consumer group (random id,
 * no commits) that seeks each partition to the wanted offset; the group is deleted afterwards. Only
 * records inside [offset, endOffset) count, so a batch from anywhere else can never be taken. Partitions with nothing in
 * [offset, endOffset) are left out, and so are those not read within `timeoutMs` (the result is
 * partial then, never an error). Costs one group join: well under a second on an idle broker, plus the
 * broker's group.initial.rebalance.delay.ms (3 s by default; 0 on the local test broker).
 */
export async function oldestUnconsumedTimestamps(
  kafka: Kafka,
  partitions: Array<{ topic: string; partition: number; offset: number; endOffset: number }>,
  timeoutMs: number,
): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const wanted = new Map<string, { offset: number; endOffset: number }>();
  for (const p of partitions)
    if (p.endOffset > p.offset) wanted.set(partitionId(p.topic, p.partition), { offset: p.offset, endOffset: p.endOffset });
  if (wanted.size === 0) return found;

  const deadline = Date.now() + timeoutMs;
  const groupId = `kafka-dispatch-lag-${randomUUID()}`;
  const admin = kafka.admin();
  const consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: 10_000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 200,
    retry: { retries: 2 },
  });
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  let timer: NodeJS.Timeout | undefined;
  try {
    await withTimeout(consumer.connect(), deadline - Date.now());
    const topics = [...new Set(partitions.filter((p) => wanted.has(partitionId(p.topic, p.partition))).map((p) => p.topic))];
    await consumer.subscribe({ topics, fromBeginning: false });
    const running = consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const key = partitionId(batch.topic, batch.partition);
        const want = wanted.get(key);
        if (!want || found.has(key)) return;
        const first = batch.messages.find((m) => Number(m.offset) >= want.offset && Number(m.offset) < want.endOffset);
        if (first) found.set(key, Number(first.timestamp));
        // A record past the window means the window holds none (e.g. only transaction markers).
        else if (batch.messages.some((m) => Number(m.offset) >= want.endOffset)) wanted.delete(key);
        if ([...wanted.keys()].every((k) => found.has(k))) finish();
      },
    });
    // Seeks made before the group is joined are applied before the first fetch of each partition
    // (what kafkajs's own admin.setOffsets relies on); batches fetched before a seek are dropped.
    for (const p of partitions) {
      if (wanted.has(partitionId(p.topic, p.partition)))
        consumer.seek({ topic: p.topic, partition: p.partition, offset: String(p.offset) });
    }
    await withTimeout(running, deadline - Date.now());
    timer = setTimeout(finish, Math.max(0, deadline - Date.now()));
    await done;
  } catch {
    // Partial or empty: lag in seconds is best effort.
  } finally {
    if (timer) clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
    // The throwaway group committed nothing, but the broker keeps its (empty) metadata: delete it.
    await withTimeout(admin.connect(), 5000)
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
  return found;
}
