/** One Kafka record as the dispatcher sees it; independent of the client library. */
export interface KafkaRecord {
  topic: string;
  partition: number;
  /** Offsets fit in a double up to 2^53, far beyond any real partition. */
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
  /** Record timestamp, ms since the epoch (CreateTime or LogAppendTime). */
  timestamp: number;
}

/** `topic/partition`: the one key of a partition in maps and sets. */
export function partitionId(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

export function describeRecord(record: Pick<KafkaRecord, 'topic' | 'partition' | 'offset'>): {
  topic: string;
  partition: number;
  offset: number;
} {
  return { topic: record.topic, partition: record.partition, offset: record.offset };
}
