import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBroker } from '../../tools/broker/local-broker.js';
import type { GroupLag, PartitionLag } from '../../src/telemetry/lag.js';
import { runCli, startCli, type CliProcess } from '../helpers/cli.js';
import { brokers, createTopic, disconnectKafka, produce } from '../helpers/kafka.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);

/** One row of `kafka-consumer-groups --describe`; undefined where the tool prints `-`. */
interface ToolRow {
  topic: string;
  partition: number;
  current: number | undefined;
  end: number | undefined;
  lag: number | undefined;
  clientId: string | undefined;
}

let libsDir: string;
let bootstrap: string;
let unreachable: CliProcess;

/** Kafka's own tool (from the jars the local broker uses), logs off. */
async function kafkaTool(...args: string[]): Promise<string> {
  const { stdout } = await run(
    'java',
    [
      '-Dlog4j2.level=off',
      '-cp',
      `${libsDir}/*`,
      'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
      '--bootstrap-server',
      bootstrap,
      ...args,
    ],
    { timeout: 30_000 },
  );
  return stdout;
}

async function describeWithTool(group: string): Promise<ToolRow[]> {
  const out = await kafkaTool('--describe', '--group', group);
  const num = (s: string | undefined) => (s === undefined || s === '-' ? undefined : Number(s));
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cells) => cells[0] === group && /^\d+$/.test(cells[2] ?? ''))
    .map((cells) => ({
      topic: cells[1]!,
      partition: Number(cells[2]),
      current: num(cells[3]),
      end: num(cells[4]),
      lag: num(cells[5]),
      clientId: cells[8] === '-' ? undefined : cells[8],
    }));
}

async function ourLag(group: string, topic: string, ...extra: string[]): Promise<GroupLag> {
  const result = await runCli(['lag', '--group', group, '--topic', topic, '--brokers', bootstrap, '--json', ...extra], {}, 30_000);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const parsed = JSON.parse(result.stdout) as GroupLag;
  for (const p of parsed.partitions) if ((p.committedOffset as number | null) === null) p.committedOffset = undefined;
  return parsed;
}

const byPartition = (lag: GroupLag) => new Map<number, PartitionLag>(lag.partitions.map((p) => [p.partition, p]));

/** Records to partitions 0 and 1 only (partition 2 stays empty); a commit at 4 on partition 0 only. */
async function setUp(): Promise<{ topic: string; group: string }> {
  const { topic, group } = await createTopic(3, 'kd-lag');
  await produce(topic, [
    ...Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `p0-${i}` })),
    ...Array.from({ length: 5 }, (_, i) => ({ partition: 1, value: `p1-${i}` })),
  ]);
  await kafkaTool('--reset-offsets', '--group', group, '--topic', `${topic}:0`, '--to-offset', '4', '--execute');
  return { topic, group };
}

beforeAll(async () => {
  bootstrap = brokers().join(',');
  const broker = new LocalBroker();
  await broker.ensureInstalled();
  libsDir = broker.libsDir;
  // Runs alongside the other tests: it may take up to the 15 s connection timeout.
  unreachable = startCli(['lag', '--group', 'g', '--brokers', '127.0.0.1:1', '--no-lag-seconds']);
});

afterAll(async () => {
  unreachable.child.kill('SIGKILL');
  await disconnectKafka();
});

describe('kafka-dispatch lag against kafka-consumer-groups --describe', () => {
  it('at rest: same offsets and lag where the tool knows them; KEDA rules where it does not', async () => {
    const { topic, group } = await setUp();
    const tool = await describeWithTool(group);
    const ours = await ourLag(group, topic, '--initial-offset', 'earliest');
    const latest = byPartition(await ourLag(group, topic, '--initial-offset', 'latest', '--no-lag-seconds'));
    const mine = byPartition(ours);

    // All three partitions, committed or not.
    expect([...mine.keys()]).toEqual([0, 1, 2]);
    expect(ours.partitions.map((p) => p.endOffset)).toEqual([10, 5, 0]);

    // The tool lists the committed partition (and, depending on version, the others with "-").
    expect(tool.some((r) => r.partition === 0)).toBe(true);
    for (const row of tool) {
      const p = mine.get(row.partition)!;
      if (row.current !== undefined) {
        expect({ current: p.committedOffset, end: p.endOffset, lag: p.lag }).toEqual({ current: row.current, end: row.end, lag: row.lag });
      } else {
        expect(p.committedOffset).toBeUndefined();
      }
    }
    expect(mine.get(0)).toMatchObject({ committedOffset: 4, endOffset: 10, lag: 6 });
    // Never committed: earliest → the end offset; latest → 1 (KEDA without scaleToZeroOnInvalidOffset).
    expect(mine.get(1)).toMatchObject({ committedOffset: undefined, endOffset: 5, lag: 5 });
    expect(mine.get(2)).toMatchObject({ committedOffset: undefined, endOffset: 0, lag: 0 });
    expect(latest.get(0)).toMatchObject({ lag: 6 });
    expect(latest.get(1)).toMatchObject({ lag: 1 });
    expect(latest.get(2)).toMatchObject({ lag: 1 });
    expect(ours.totalByTopic[topic]).toBe(11);
    expect(ours.total).toBe(11);

    // Lag in seconds: the records were produced moments ago; an empty partition is caught up.
    for (const partition of [0, 1]) {
      expect(mine.get(partition)!.lagSeconds).toBeGreaterThanOrEqual(0);
      expect(mine.get(partition)!.lagSeconds).toBeLessThan(120);
    }
    expect(mine.get(2)!.lagSeconds).toBe(0);
    expect(latest.get(0)!.lagSeconds).toBeUndefined();

    // The table: header, one row per partition, a TOTAL line; the throwaway group is gone.
    const table = await runCli(
      ['lag', '--group', group, '--topic', topic, '--brokers', bootstrap, '--initial-offset', 'earliest'],
      {},
      30_000,
    );
    expect(table.code).toBe(0);
    const rows = table.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s+/));
    expect(rows[0]).toEqual(['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'LAG-SECONDS', 'OWNER']);
    expect(rows.slice(1).map((r) => r.slice(0, 6))).toEqual([
      [group, topic, '0', '4', '10', '6'],
      [group, topic, '1', '-', '5', '5'],
      [group, topic, '2', '-', '0', '0'],
      [group, topic, 'TOTAL', '-', '-', '11'],
    ]);
    expect((await kafkaTool('--list')).split('\n').filter((g) => g.startsWith('kafka-dispatch-lag-'))).toEqual([]);
  });

  it('without --topic: the topics the group committed; owners of an active group match the tool', async () => {
    const { topic, group } = await setUp();
    const clientId = `kd-owner-${randomUUID().slice(0, 8)}`;
    const consumer: Consumer = new Kafka({ clientId, brokers: brokers(), logLevel: logLevel.NOTHING }).consumer({
      groupId: group,
      maxWaitTimeInMs: 200,
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic] });
      let joined = false;
      consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
      // Never finishes a batch, so nothing moves: the commit at 4 stays.
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} });
      await waitFor(() => joined, 'the consumer to join', 20_000);

      const result = await runCli(['lag', '--group', group, '--brokers', bootstrap, '--json', '--no-lag-seconds'], {}, 30_000);
      expect(result.code).toBe(0);
      const ours = JSON.parse(result.stdout) as GroupLag;
      expect(ours.partitions.map((p) => `${p.topic}/${p.partition}`)).toEqual([0, 1, 2].map((p) => `${topic}/${p}`));
      for (const p of ours.partitions) expect(p.owner).toBe(`${clientId}@127.0.0.1`);

      const tool = await describeWithTool(group);
      expect(tool.map((r) => r.partition).sort()).toEqual([0, 1, 2]);
      for (const row of tool) {
        expect(row.clientId).toBe(clientId);
        const p = ours.partitions.find((q) => q.partition === row.partition)!;
        if (row.current !== undefined) expect([p.committedOffset, p.endOffset, p.lag]).toEqual([row.current, row.end, row.lag]);
      }
    } finally {
      await consumer.disconnect();
    }
  });

  it('under load: |ours - theirs| is at most the records produced between the two reads', async () => {
    const { topic, group } = await setUp();
    const started = [0, 0];
    const acked = [0, 0];
    let stop = false;
    const deadline = Date.now() + 15_000;
    const load = (async () => {
      // Bounded: at most 4000 records and 15 s.
      while (!stop && Date.now() < deadline && started[0]! + started[1]! < 4000) {
        const partition = (started[0]! + started[1]!) % 2;
        started[partition]! += 5;
        await produce(
          topic,
          Array.from({ length: 5 }, (_, i) => ({ partition, value: `load-${i}` })),
        );
        acked[partition]! += 5;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    try {
      await waitFor(() => acked[0]! + acked[1]! >= 100, 'the first 100 records', 10_000);
      for (const order of ['ours-first', 'tool-first'] as const) {
        const before = [...acked];
        let ours: GroupLag;
        let tool: ToolRow[];
        if (order === 'ours-first') {
          ours = await ourLag(group, topic, '--initial-offset', 'earliest', '--no-lag-seconds');
          tool = await describeWithTool(group);
        } else {
          tool = await describeWithTool(group);
          ours = await ourLag(group, topic, '--initial-offset', 'earliest', '--no-lag-seconds');
        }
        // Records that may have landed between the two reads, per partition.
        const between = [started[0]! - before[0]!, started[1]! - before[1]!];
        const mine = byPartition(ours);
        const row0 = tool.find((r) => r.partition === 0)!;
        expect(row0.current).toBe(4);
        expect(mine.get(0)!.committedOffset).toBe(4);
        expect(Math.abs(mine.get(0)!.endOffset - row0.end!)).toBeLessThanOrEqual(between[0]!);
        expect(Math.abs(mine.get(0)!.lag - row0.lag!)).toBeLessThanOrEqual(between[0]!);
        expect(mine.get(0)!.lag).toBeGreaterThan(6);
        // Never committed, earliest: lag = end offset, which only grows.
        expect(mine.get(1)!.lag).toBe(mine.get(1)!.endOffset);
        expect(mine.get(1)!.lag).toBeGreaterThan(5);
        const row1 = tool.find((r) => r.partition === 1);
        if (row1?.end !== undefined) expect(Math.abs(mine.get(1)!.endOffset - row1.end)).toBeLessThanOrEqual(between[1]!);
      }
      expect(started[0]! + started[1]!).toBeGreaterThan(100);
    } finally {
      stop = true;
      await load;
    }
  });

  it('--watch redraws until SIGINT, then exits 0', async () => {
    const { topic, group } = await setUp();
    const cli = startCli(['lag', '--group', group, '--topic', topic, '--brokers', bootstrap, '--json', '--watch', '1', '--no-lag-seconds']);
    try {
      await waitFor(() => cli.stdout().trim().split('\n').filter(Boolean).length >= 2, 'two refreshes', 15_000);
      const [first] = cli.stdout().trim().split('\n');
      expect((JSON.parse(first!) as GroupLag).total).toBe(6 + 1 + 1);
      cli.child.kill('SIGINT');
      const code = await Promise.race([cli.exited, new Promise((r) => setTimeout(() => r('still running'), 5000))]);
      expect(code).toBe(0);
    } finally {
      cli.child.kill('SIGKILL');
    }
  });

  it('usage errors exit 2; an unreachable broker exits 1 within 15 s', async () => {
    const noGroup = await runCli(['lag', '--brokers', bootstrap]);
    expect(noGroup.code).toBe(2);
    expect(noGroup.stderr).toContain('no consumer group');
    const noBrokers = await runCli(['lag', '--group', 'g']);
    expect(noBrokers.code).toBe(2);
    expect(noBrokers.stderr).toContain('no brokers');
    const badPolicy = await runCli(['lag', '--group', 'g', '--brokers', bootstrap, '--initial-offset', 'middle']);
    expect(badPolicy.code).toBe(2);

    // Refused connections make kafkajs give up by itself; a silent host hits the 15 s timeout.
    const code = await Promise.race([unreachable.exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
    expect(code).toBe(1);
    expect(unreachable.stderr()).toMatch(/^kafka-dispatch lag: (cannot connect to|no answer from) the brokers 127\.0\.0\.1:1/);
  });
});
