import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { Kafka, logLevel, type Admin, type Message, type Producer } from 'kafkajs';

export function brokers(): string[] {
  return inject('kafkaBrokers').split(',');
}

const kafka = () => new Kafka({ clientId: 'kd-test', brokers: brokers(), logLevel: logLevel.NOTHING });

let shared: { admin: Admin; producer: Producer } | undefined;

async function clients(): Promise<{ admin: Admin; producer: Producer }> {
  if (!shared) {
    const k = kafka();
    const admin = k.admin();
    // Idempotent: a send retried on a loaded machine (its answer late) must not write the records
    // twice, or a test that counts offsets sees more than it produced.
    const producer = k.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await Promise.all([admin.connect(), producer.connect()]);
    shared = { admin, producer };
  }
  return shared;
}

export async function disconnectKafka(): Promise<void> {
  if (!shared) return;
  const { admin, producer } = shared;
  shared = undefined;
  await Promise.all([admin.disconnect(), producer.disconnect()]);
}

/** A topic of its own for each test, and a group to go with it. */
export async function createTopic(partitions = 1, prefix = 'kd-test'): Promise<{ topic: string; group: string }> {
  const id = `${prefix}-${randomUUID().slice(0, 8)}`;
  const { admin } = await clients();
  try {
    await admin.createTopics({ topics: [{ topic: id, numPartitions: partitions }], waitForLeaders: true });
  } catch (error) {
    // kafkajs's wait for leaders gives up on a broker slow to publish the new topic's metadata
    // (seen on a loaded machine): the topic exists, so wait for its leaders here instead.
    if ((error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
    await waitForLeaders(id, partitions);
  }
  return { topic: id, group: `${id}-group` };
}

async function waitForLeaders(topic: string, partitions: number, timeoutMs = 30_000): Promise<void> {
  const { admin } = await clients();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
    const led = metadata?.topics[0]?.partitions.filter((p) => p.leader >= 0).length ?? 0;
    if (led === partitions) return;
    if (Date.now() > deadline) throw new Error(`topic ${topic}: ${led} of ${partitions} partitions have a leader after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function produce(topic: string, messages: Message[]): Promise<void> {
  const { producer } = await clients();
  for (let i = 0; i < messages.length; i += 500) {
    await producer.send({ topic, messages: messages.slice(i, i + 500) });
  }
}

export async function committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
  const { admin } = await clients();
  const result = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return new Map(result[0]!.partitions.map((p) => [p.partition, Number(p.offset)]));
}
