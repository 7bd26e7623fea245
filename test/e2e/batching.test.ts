import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { brokers, committedOffsets, createTopic, produce } from '../helpers/kafka.js';
import { startTestDispatcher } from '../helpers/dispatcher.js';
import type { RecordedRequest } from '../helpers/recording-sink.js';
import { useTestResources } from '../helpers/resources.js';
import { waitFor } from '../helpers/wait-for.js';

const res = useTestResources();

async function readTopic(topic: string, count: number) {
  const kafka = new Kafka({ clientId: 'kd-test-reader', brokers: brokers(), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const messages: Array<{ key: string | null; value: string; headers: Record<string, string> }> = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      messages.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? '', headers });
    },
  });
  try {
    await waitFor(() => messages.length >= count, `${count} messages on ${topic}`);
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

/** The records of a json-array batch request, as the sink read them. */
const itemsOf = (request: RecordedRequest) => JSON.parse(request.body) as Array<{ n: number; poison?: boolean }>;

async function waitForCommitted(group: string, topic: string, partitions: number, perPartition: number) {
  await waitFor(async () => {
    const offsets = await committedOffsets(group, topic);
    return Array.from({ length: partitions }, (_, p) => offsets.get(p)).every((offset) => offset === perPartition);
  }, `offsets of ${topic} committed to ${perPartition} in each partition`);
}

describe('micro-batching (BATCH_MAX_RECORDS > 1) against the real broker', () => {
  it('sends 100 records in batches of at most 10, each once, and maps every item back to its own record', async () => {
    const { topic, group } = await createTopic(2);
    const { topic: replies } = await createTopic(1, 'kd-reply');
    // The sink answers one result per item, in the order of the batch: the item's n, doubled.
    const sink = await res.sink((request) => ({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(itemsOf(request).map((item) => ({ doubled: item.n * 2 }))),
    }));
    const total = 100;
    await produce(
      topic,
      Array.from({ length: total }, (_, n) => ({
        partition: n % 2,
        key: `key-${n}`,
        value: JSON.stringify({ n }),
        headers: { 'x-request': `r-${n}` },
      })),
    );
    res.dispatcher = await startTestDispatcher({
      topics: [topic],
      groupId: group,
      sinkUri: sink.url,
      ordering: 'unordered',
      concurrencyLimit: 'fixed',
      maxInFlight: 40,
      replyTopic: replies,
      batchMaxRecords: 10,
      batchMaxWaitMs: 50,
    });
    const messages = await readTopic(replies, total);
    await waitForCommitted(group, topic, 2, total / 2);

    const sizes = sink.requests.map((request) => itemsOf(request).length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    // Batching happened: far fewer requests than records.
    expect(sink.requests.length).toBeLessThanOrEqual(25);
    const seen = sink.requests.flatMap((request) => itemsOf(request).map((item) => item.n)).sort((a, b) => a - b);
    expect(seen).toEqual(Array.from({ length: total }, (_, n) => n));
    expect(sink.requests.every((request) => request.headers['content-type'] === 'application/json')).toBe(true);

    // Each reply is its own record's item, under that record's key and headers.
    expect(messages).toHaveLength(total);
    for (const message of messages) {
      const n = Number(message.key!.slice('key-'.length));
      expect(JSON.parse(message.value)).toEqual({ doubled: n * 2 });
      expect(message.headers['x-request']).toBe(`r-${n}`);
      expect(Number(message.headers['kd-original-offset'])).toBe(Math.floor(n / 2));
      expect(Number(message.headers['kd-original-partition'])).toBe(n % 2);
    }
    expect(res.dispatcher.metrics.totals).toMatchObject({ received: total, delivered: total, deadLettered: 0, skipped: 0 });
    const exposition = await res.dispatcher.metrics.registry.metrics();
    expect(exposition).toContain(`kafka_dispatch_batch_records_sum{sink="default"} ${total}`);
    expect(exposition).toContain(`kafka_dispatch_batch_records_count{sink="default"} ${sink.requests.length}`);
    expect(exposition).toMatch(/kafka_dispatch_batch_bytes_sum\{sink="default"\} [1-9]/);
    expect(exposition).toMatch(/kafka_dispatch_batch_wait_seconds_count\{sink="default"\} [1-9]/);
  });

  it('an item the sink marks failed is retried alone, then dead-lettered alone; the others are delivered', async () => {
    const { topic, group } = await createTopic(1);
    const { topic: dlt } = await createTopic(1, 'kd-dlt');
    const sink = await res.sink((request) => ({
      body: JSON.stringify(itemsOf(request).map((item) => (item.poison ? { error: 'cannot score this one' } : { ok: item.n }))),
    }));
    await produce(
      topic,
      Array.from({ length: 6 }, (_, n) => ({ key: `key-${n}`, value: JSON.stringify(n === 3 ? { n, poison: true } : { n }) })),
    );
    res.dispatcher = await startTestDispatcher({
      topics: [topic],
      groupId: group,
      sinkUri: sink.url,
      ordering: 'unordered',
      concurrencyLimit: 'fixed',
      maxInFlight: 16,
      retry: 1,
      backoffDelayMs: 10,
      deadLetterTopic: dlt,
      batchMaxRecords: 6,
      batchMaxWaitMs: 200,
    });
    const [dead] = await readTopic(dlt, 1);
    await waitForCommitted(group, topic, 1, 6);
    expect(dead!.key).toBe('key-3');
    expect(dead!.headers['kd-error-code-name']).toBe('KD_BATCH_ITEM_FAILED');
    expect(dead!.headers['kd-error-reason']).toContain('cannot score this one');
    // The batch of six, then the poison alone: its first attempt and one retry.
    expect(sink.requests.map((request) => itemsOf(request).map((item) => item.n))).toEqual([[0, 1, 2, 3, 4, 5], [3], [3]]);
    expect(res.dispatcher.metrics.totals).toMatchObject({ delivered: 5, deadLettered: 1, skipped: 0 });
  });

  it('bisects a batch that keeps failing: a poison record among 8 is isolated in ⌈log₂ 8⌉ + 1 = 4 rounds', async () => {
    const { topic, group } = await createTopic(1);
    const { topic: dlt } = await createTopic(1, 'kd-dlt');
    // A sink that fails any request holding the poison, as a model server fails a whole batch.
    const sink = await res.sink((request) => (itemsOf(request).some((item) => item.poison) ? { status: 500, body: 'boom' } : {}));
    await produce(
      topic,
      Array.from({ length: 8 }, (_, n) => ({ key: `key-${n}`, value: JSON.stringify(n === 5 ? { n, poison: true } : { n }) })),
    );
    res.dispatcher = await startTestDispatcher({
      topics: [topic],
      groupId: group,
      sinkUri: sink.url,
      ordering: 'unordered',
      concurrencyLimit: 'fixed',
      maxInFlight: 16,
      retry: 0,
      deadLetterTopic: dlt,
      batchMaxRecords: 8,
      batchMaxWaitMs: 500,
    });
    const [dead] = await readTopic(dlt, 1);
    await waitForCommitted(group, topic, 1, 8);
    expect(dead!.key).toBe('key-5');
    expect(dead!.headers['kd-error-code']).toBe('500');

    const sizes = sink.requests.map((request) => itemsOf(request).length);
    const poisoned = sink.requests.filter((request) => itemsOf(request).some((item) => item.poison));
    // One round per size the poison was sent in: 8, 4, 2, then alone.
    expect(poisoned.map((request) => itemsOf(request).length)).toEqual([8, 4, 2, 1]);
    expect(sizes.sort((a, b) => b - a)).toEqual([8, 4, 4, 2, 2, 1, 1]);
    const delivered = sink.requests.filter((request) => !itemsOf(request).some((item) => item.poison));
    expect(delivered.flatMap((request) => itemsOf(request).map((item) => item.n)).sort()).toEqual([0, 1, 2, 3, 4, 6, 7]);
    expect(res.dispatcher.metrics.totals).toMatchObject({ delivered: 7, deadLettered: 1, skipped: 0 });
  });

  /** Requests that overlapped in time at the sink (one started before the other was answered). */
  function overlapping(requests: RecordedRequest[]): Array<[RecordedRequest, RecordedRequest]> {
    const pairs: Array<[RecordedRequest, RecordedRequest]> = [];
    for (const a of requests)
      for (const b of requests) if (a.n < b.n && b.receivedAt < (a.answeredAt ?? Number.POSITIVE_INFINITY)) pairs.push([a, b]);
    return pairs;
  }

  it('ordered: one batch in flight per partition, of consecutive records, in offset order', async () => {
    const { topic, group } = await createTopic(2);
    // Slow, uneven answers: a second batch of a partition in flight would show up as an overlap.
    const sink = await res.sink((request) => ({ delayMs: 5 + (request.n % 3) * 10, body: '[]' }));
    const total = 120;
    await produce(
      topic,
      Array.from({ length: total }, (_, n) => ({ partition: n % 2, value: JSON.stringify({ n, partition: n % 2 }) })),
    );
    res.dispatcher = await startTestDispatcher({
      topics: [topic],
      groupId: group,
      sinkUri: sink.url,
      ordering: 'ordered',
      concurrencyLimit: 'fixed',
      maxInFlight: 32,
      batchMaxRecords: 8,
      batchMaxWaitMs: 5,
    });
    await waitForCommitted(group, topic, 2, total / 2);
    const items = (request: RecordedRequest) => JSON.parse(request.body) as Array<{ n: number; partition: number }>;
    for (const partition of [0, 1]) {
      const arrived = sink.requests.flatMap((request) =>
        items(request)
          .filter((item) => item.partition === partition)
          .map((item) => item.n),
      );
      expect(arrived).toEqual(Array.from({ length: total / 2 }, (_, i) => i * 2 + partition));
      const holding = sink.requests.filter((request) => items(request).some((item) => item.partition === partition));
      expect(overlapping(holding)).toEqual([]);
    }
    // Runs of a partition, not one record per partition per request.
    expect(sink.requests.length).toBeLessThanOrEqual(total / 4);
    expect(res.dispatcher.metrics.totals).toMatchObject({ delivered: total });
  });

  it('key: batches hold runs of a key and heads of many keys, never two in flight with the same key', async () => {
    const { topic, group } = await createTopic(1);
    const sink = await res.sink((request) => ({ delayMs: 5 + (request.n % 4) * 8, body: '[]' }));
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const total = 100;
    await produce(
      topic,
      Array.from({ length: total }, (_, n) => ({ key: keys[n % keys.length]!, value: JSON.stringify({ n, key: keys[n % keys.length] }) })),
    );
    res.dispatcher = await startTestDispatcher({
      topics: [topic],
      groupId: group,
      sinkUri: sink.url,
      ordering: 'key',
      concurrencyLimit: 'fixed',
      maxInFlight: 40,
      maxInFlightPerPartition: 40,
      batchMaxRecords: 10,
      batchMaxWaitMs: 5,
    });
    await waitForCommitted(group, topic, 1, total);
    const items = (request: RecordedRequest) => JSON.parse(request.body) as Array<{ n: number; key: string }>;
    for (const key of keys) {
      const arrived = sink.requests.flatMap((request) =>
        items(request)
          .filter((item) => item.key === key)
          .map((item) => item.n),
      );
      expect(arrived).toEqual(Array.from({ length: total / keys.length }, (_, i) => i * keys.length + keys.indexOf(key)));
      const holding = sink.requests.filter((request) => items(request).some((item) => item.key === key));
      expect(overlapping(holding)).toEqual([]);
    }
    const keysPer = sink.requests.map((request) => new Set(items(request).map((item) => item.key)).size);
    const mostOfOneKey = Math.max(
      ...sink.requests.map((request) => Math.max(...keys.map((key) => items(request).filter((item) => item.key === key).length))),
    );
    expect(Math.max(...keysPer)).toBeGreaterThan(1);
    expect(mostOfOneKey).toBeGreaterThan(1);
    expect(res.dispatcher.metrics.totals).toMatchObject({ delivered: total });
  });
});
