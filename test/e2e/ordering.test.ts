import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Settings } from '../../src/config/settings.js';
import { createTopic, disconnectKafka, produce } from '../helpers/kafka.js';
import { maxOverlap, startRecordingSink, type RecordedRequest, type RecordingSink } from '../helpers/recording-sink.js';
import { startTestDispatcher, type TestDispatcher } from '../helpers/dispatcher.js';
import { waitFor, sleep } from '../helpers/wait-for.js';

let sink: RecordingSink | undefined;
let dispatcher: TestDispatcher | undefined;
afterEach(async () => {
  await dispatcher?.stop(5000);
  await sink?.close();
  dispatcher = sink = undefined;
});
afterAll(() => disconnectKafka());

const PARTITIONS = 4;
const KEYS = 40;
const RECORDS = 2400;

interface Seen {
  partition: number;
  offset: number;
  key: string;
  request: RecordedRequest;
}

async function runMode(ordering: Settings['ordering']): Promise<Seen[]> {
  const { topic, group } = await createTopic(PARTITIONS, `kd-order-${ordering}`);
  // Random latency so that any reordering the mode allows actually happens.
  sink = await startRecordingSink(() => ({ delayMs: Math.floor(Math.random() * 8) }));
  await produce(
    topic,
    Array.from({ length: RECORDS }, (_, i) => ({ partition: i % PARTITIONS, key: `key-${i % KEYS}`, value: `${i}` })),
  );
  dispatcher = await startTestDispatcher({
    topics: [topic],
    groupId: group,
    sinkUri: sink.url,
    ordering,
    // The caps as configured: the scheduler is held to them (a demand-sized limit is simulate's to test).
    concurrencyLimit: 'fixed',
    maxInFlight: 64,
    maxInFlightPerPartition: 16,
  });
  await waitFor(() => sink!.requests.length >= RECORDS, `${RECORDS} requests`, 60_000);
  await sleep(300);
  const warnings = dispatcher.logs().filter((l) => l.level !== 'info' && l.level !== 'debug');
  expect(sink.requests.length, JSON.stringify(warnings.slice(0, 20))).toBe(RECORDS);
  return sink.requests.map((request) => ({
    partition: Number(request.headers['ce-knativekafkapartition']),
    offset: Number(request.headers['ce-knativekafkaoffset']),
    key: String(request.headers['ce-key']),
    request,
  }));
}

function assertOrdered(groups: Map<string, Seen[]>): void {
  for (const [group, seen] of groups) {
    const offsets = seen.map((s) => s.offset);
    expect(offsets, `order within ${group}`).toEqual([...offsets].sort((a, b) => a - b));
    // A lane never has two requests open at once.
    expect(maxOverlap(seen.map((s) => s.request)), `concurrency within ${group}`).toBe(1);
  }
}

function groupBy(seen: Seen[], by: (s: Seen) => string): Map<string, Seen[]> {
  const groups = new Map<string, Seen[]>();
  for (const s of seen) groups.set(by(s), [...(groups.get(by(s)) ?? []), s]);
  return groups;
}

describe('ordering modes over thousands of records (real broker, sink with random latency)', () => {
  it('ordered: one request at a time per partition, in offset order; partitions in parallel', async () => {
    const seen = await runMode('ordered');
    assertOrdered(groupBy(seen, (s) => `partition ${s.partition}`));
    expect(maxOverlap(seen.map((s) => s.request))).toBeGreaterThan(1);
    expect(maxOverlap(seen.map((s) => s.request))).toBeLessThanOrEqual(PARTITIONS);
  });

  it('key: in order per key, and many requests in parallel inside one partition', async () => {
    const seen = await runMode('key');
    assertOrdered(groupBy(seen, (s) => `partition ${s.partition} key ${s.key}`));
    const perPartition = groupBy(seen, (s) => String(s.partition));
    for (const [partition, records] of perPartition) {
      const overlap = maxOverlap(records.map((r) => r.request));
      expect(overlap, `parallelism inside partition ${partition}`).toBeGreaterThan(2);
      expect(overlap).toBeLessThanOrEqual(16);
    }
    expect(new Set(seen.map((s) => `${s.partition}/${s.offset}`)).size).toBe(RECORDS);
  });

  it('unordered: everything once, up to the per-partition cap in flight', async () => {
    const seen = await runMode('unordered');
    expect(new Set(seen.map((s) => `${s.partition}/${s.offset}`)).size).toBe(RECORDS);
    for (const [partition, records] of groupBy(seen, (s) => String(s.partition))) {
      expect(maxOverlap(records.map((r) => r.request)), `partition ${partition}`).toBeLessThanOrEqual(16);
    }
    expect(maxOverlap(seen.map((s) => s.request))).toBeGreaterThan(PARTITIONS);
    expect(maxOverlap(seen.map((s) => s.request))).toBeLessThanOrEqual(64);
  });
});

describe('global limits', () => {
  it('never has more than max-in-flight requests open across partitions', async () => {
    const { topic, group } = await createTopic(4, 'kd-inflight');
    sink = await startRecordingSink(() => ({ delayMs: 5 + Math.floor(Math.random() * 10) }));
    await produce(
      topic,
      Array.from({ length: 400 }, (_, i) => ({ partition: i % 4, value: `${i}` })),
    );
    dispatcher = await startTestDispatcher({
      topics: [topic],
      groupId: group,
      sinkUri: sink.url,
      ordering: 'unordered',
      concurrencyLimit: 'fixed',
      maxInFlight: 6,
      maxInFlightPerPartition: 4,
    });
    await waitFor(() => dispatcher!.metrics.totals.delivered === 400, '400 deliveries');
    expect(maxOverlap(sink.requests)).toBe(6);
  });

  it('starts no more requests per second than the rate limit', async () => {
    const { topic, group } = await createTopic(2, 'kd-rate');
    sink = await startRecordingSink();
    await produce(
      topic,
      Array.from({ length: 30 }, (_, i) => ({ value: `${i}` })),
    );
    dispatcher = await startTestDispatcher({ topics: [topic], groupId: group, sinkUri: sink.url, ordering: 'unordered', rateLimit: 20 });
    await waitFor(() => dispatcher!.metrics.totals.delivered === 30, '30 deliveries');
    const times = sink.requests.map((r) => r.receivedAt).sort((a, b) => a - b);
    // 20 per second: 30 requests span at least 29 gaps of 50 ms (minus timer slack).
    expect(times[29]! - times[0]!).toBeGreaterThanOrEqual(29 * 50 - 30);
    for (let i = 20; i < times.length; i++) expect(times[i]! - times[i - 20]!, `20 requests ending at #${i}`).toBeGreaterThanOrEqual(950);
  });
});
