import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaSource, type KafkaSourceHandlers } from '../../src/source/kafka-source.js';
import type { KafkaRecord } from '../../src/source/record.js';
import { createLogger } from '../../src/telemetry/logger.js';

/**
 * The consumer surface KafkaSource drives, recorded: a unit test of its pause/resume and assignment
 * bookkeeping. Consuming from a real broker is what test/e2e/ does.
 */
class FakeConsumer extends EventEmitter {
  readonly events = { REBALANCING: 'rebalancing', GROUP_JOIN: 'join', CRASH: 'crash' };
  readonly calls: Array<[string, unknown]> = [];
  eachBatch: ((payload: unknown) => Promise<void>) | undefined;
  async connect() {
    this.calls.push(['connect', undefined]);
  }
  async subscribe(options: unknown) {
    this.calls.push(['subscribe', options]);
  }
  async run(options: { eachBatch: (payload: unknown) => Promise<void> }) {
    this.calls.push(['run', { ...options, eachBatch: typeof options.eachBatch }]);
    this.eachBatch = options.eachBatch;
  }
  pause(topics: unknown) {
    this.calls.push(['pause', topics]);
  }
  resume(topics: unknown) {
    this.calls.push(['resume', topics]);
  }
  join(assignment: Record<string, number[]>) {
    this.emit('join', { payload: { memberAssignment: assignment } });
  }
  batch(topic: string, partition: number, offsets: number[], state = { running: true, stale: false }) {
    return this.eachBatch!({
      batch: {
        topic,
        partition,
        messages: offsets.map((o) => ({
          offset: String(o),
          key: o % 2 ? Buffer.from(`k${o}`) : null,
          value: Buffer.from(`v${o}`),
          headers: { h: 'x' },
          timestamp: String(1000 + o),
        })),
      },
      isRunning: () => state.running,
      isStale: () => state.stale,
    });
  }
}

async function started(full = () => false) {
  const consumer = new FakeConsumer();
  const configs: unknown[] = [];
  const kafka = { consumer: (config: unknown) => (configs.push(config), consumer) } as unknown as Kafka;
  const logger = createLogger({ level: 'silent', format: 'json', destination: new Writable({ write: (_c, _e, done) => done() }) });
  const source = new KafkaSource({
    kafka,
    groupId: 'g',
    topics: ['a', 'b'],
    fromBeginning: true,
    maxBytesPerPartition: 1024,
    sessionTimeoutMs: 9000,
    logger,
    maxWaitMs: 100,
  });
  const received: KafkaRecord[][] = [];
  const assignments: unknown[] = [];
  const handlers: KafkaSourceHandlers = {
    onRecords: (r) => received.push(r),
    isFull: full,
    onAssignment: (assigned, revoked) => assignments.push({ assigned, revoked }),
  };
  await source.start(handlers);
  return { consumer, configs, source, received, assignments };
}

describe('Kafka source', () => {
  it('joins with commits left to the offset manager and no topic auto-creation', async () => {
    const { consumer, configs } = await started();
    expect(configs[0]).toMatchObject({
      groupId: 'g',
      sessionTimeout: 9000,
      heartbeatInterval: 3000,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
    });
    expect(consumer.calls.slice(0, 3)).toEqual([
      ['connect', undefined],
      ['subscribe', { topics: ['a', 'b'], fromBeginning: true }],
      ['run', { autoCommit: false, eachBatchAutoResolve: true, partitionsConsumedConcurrently: 1, eachBatch: 'function' }],
    ]);
  });

  it('hands on a batch in offset order as records (numbers, null keys, headers, timestamps)', async () => {
    const { consumer, received } = await started();
    await consumer.batch('a', 2, [7, 8]);
    expect(received).toHaveLength(1);
    expect(received[0]!.map((r) => [r.topic, r.partition, r.offset, r.key?.toString() ?? null, r.value!.toString(), r.timestamp])).toEqual([
      ['a', 2, 7, 'k7', 'v7', 1007],
      ['a', 2, 8, null, 'v8', 1008],
    ]);
    expect(received[0]![0]!.headers).toEqual({ h: 'x' });
  });

  it('drops a batch that arrives after stop or after its partition moved (stale)', async () => {
    const { consumer, received } = await started();
    await consumer.batch('a', 0, [1], { running: false, stale: false });
    await consumer.batch('a', 0, [1], { running: true, stale: true });
    expect(received).toEqual([]);
  });

  it('pauses exactly the partition whose batch filled the buffer, and resumes all paused ones together', async () => {
    let full = true;
    const { consumer, source } = await started(() => full);
    await consumer.batch('a', 1, [1]);
    await consumer.batch('b', 0, [1]);
    await consumer.batch('a', 3, [1]);
    expect(consumer.calls.filter(([c]) => c === 'pause').map(([, t]) => t)).toEqual([
      [{ topic: 'a', partitions: [1] }],
      [{ topic: 'b', partitions: [0] }],
      [{ topic: 'a', partitions: [3] }],
    ]);
    expect(source.hasPaused).toBe(true);
    full = false;
    source.resumePaused();
    expect(consumer.calls.filter(([c]) => c === 'resume').map(([, t]) => t)).toEqual([
      [
        { topic: 'a', partitions: [1, 3] },
        { topic: 'b', partitions: [0] },
      ],
    ]);
    expect(source.hasPaused).toBe(false);
    source.resumePaused();
    expect(consumer.calls.filter(([c]) => c === 'resume')).toHaveLength(1);
  });

  it("reports assigned and revoked partitions across rejoins, and forgets a revoked partition's pause", async () => {
    const { consumer, source, assignments } = await started(() => true);
    consumer.join({ a: [0, 1], b: [0] });
    await consumer.batch('a', 1, [1]);
    consumer.join({ a: [0], b: [0, 1] });
    expect(source.isJoined).toBe(true);
    expect(assignments).toEqual([
      {
        assigned: [
          { topic: 'a', partitions: [0, 1] },
          { topic: 'b', partitions: [0] },
        ],
        revoked: [],
      },
      {
        assigned: [
          { topic: 'a', partitions: [0] },
          { topic: 'b', partitions: [0, 1] },
        ],
        revoked: [{ topic: 'a', partitions: [1] }],
      },
    ]);
    // kafkajs keeps pauses across assignments: the revoked partition is resumed in kafkajs too, or it
    // would stay paused for good when it comes back to this member.
    expect(consumer.calls.filter(([c]) => c === 'resume').map(([, t]) => t)).toEqual([[{ topic: 'a', partitions: [1] }]]);
    expect(source.hasPaused).toBe(false);
    source.pauseAll();
    expect(consumer.calls.at(-1)).toEqual(['pause', [{ topic: 'a' }, { topic: 'b' }]]);
  });
});
