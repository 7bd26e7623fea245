import { afterAll, describe, expect, it } from 'vitest';
import { baseEnv, useDispatcherProcesses, type LogLine } from '../helpers/dispatcher-process.js';
import { brokers, committedOffsets, createTopic, disconnectKafka, produce } from '../helpers/kafka.js';
import { startRecordingSink } from '../helpers/recording-sink.js';
import { waitFor } from '../helpers/wait-for.js';

afterAll(() => disconnectKafka());

const records = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ key: String(from + i), value: JSON.stringify({ id: from + i }) }));

/** The partitions each member was last given, from its `joined group` logs. */
function assignedByMember(logs: LogLine[]): Map<number, number[]> {
  const byMember = new Map<number, number[]>();
  for (const line of logs) {
    if (line.msg !== 'joined group' || typeof line.member !== 'number') continue;
    const assigned = line.assigned as Array<{ partitions: number[] }>;
    byMember.set(
      line.member,
      assigned.flatMap((tp) => tp.partitions),
    );
  }
  return byMember;
}

describe('CONSUMERS=2: two consumer-group members in one pod', () => {
  const processes = useDispatcherProcesses();

  it('share the partitions, answer one /metrics and /readyz, survive a member dying, and drain as one on SIGTERM', async () => {
    const { topic, group } = await createTopic(4);
    const sink = await startRecordingSink();
    try {
      await produce(topic, records(0, 200));
      const pool = await processes.start('pool', {
        ...baseEnv(brokers().join(','), topic, group, sink.url),
        CONSUMERS: '2',
        ORDERING: 'unordered',
        COMMIT_INTERVAL: '0.2',
        LAG_INTERVAL: '0.5',
      });
      const delivered = () => new Set(sink.requests.map((r) => (JSON.parse(r.body) as { id: number }).id));
      await waitFor(() => delivered().size >= 200, '200 deliveries through two members');

      // Both members joined the group and each owns partitions: the group protocol spread them.
      await waitFor(() => {
        const assigned = assignedByMember(pool.logs());
        return assigned.size === 2 && [...assigned.values()].every((p) => p.length > 0);
      }, 'both members owning partitions');
      const assigned = assignedByMember(pool.logs());
      expect([...assigned.values()].flat().sort()).toEqual([0, 1, 2, 3]);

      const ready = async () => (await fetch(`http://127.0.0.1:${pool.metricsPort}/readyz`)).status === 200;
      await waitFor(ready, '/readyz 200 once both members are ready');
      expect((await fetch(`http://127.0.0.1:${pool.metricsPort}/healthz`)).status).toBe(200);

      // One /metrics for the pod: the counters of both members added up, the group's lag not doubled.
      await waitFor(
        async () => (await pool.metric('kafka_dispatch_records_finished_total', 'outcome="delivered"')) === 200,
        'the pod counting 200 delivered',
      );
      await waitFor(async () => (await pool.metric('kafka_dispatch_consumer_group_lag')) === 0, 'lag 0 once all is committed');
      expect(await pool.metric('kafka_dispatch_in_flight_capacity')).toBe(2 * 256);
      expect(await pool.metric('kafka_dispatch_consumer_connected')).toBe(1);

      // The configuration summary once, from member 1; every member's line says which it is.
      const logs = pool.logs();
      expect(logs.filter((l) => l.msg === 'starting dispatcher').map((l) => l.member)).toEqual([1]);
      expect(new Set(logs.filter((l) => l.msg === 'joined group').map((l) => l.member))).toEqual(new Set([1, 2]));

      // A member killed outright is restarted; the pod's counters do not drop, and it delivers again.
      const member2 = logs.find((l) => l.msg === 'member started' && l.member === 2)!.pid as number;
      process.kill(member2, 'SIGKILL');
      await waitFor(() => pool.logs().some((l) => l.msg === 'member 2 died (signal SIGKILL): restarting it'), 'the restart log');
      expect(await pool.metric('kafka_dispatch_records_finished_total', 'outcome="delivered"')).toBeGreaterThanOrEqual(200);
      await waitFor(() => pool.logs().filter((l) => l.msg === 'member started').length === 3, 'member 2 started again');
      await waitFor(ready, '/readyz 200 again after the restart');
      await produce(topic, records(200, 100));
      await waitFor(() => delivered().size >= 300, 'the next 100 delivered after the restart');
      await waitFor(
        async () => (await pool.metric('kafka_dispatch_records_finished_total', 'outcome="delivered"')) >= 300,
        'the pod counting at least 300 delivered',
      );

      const { code } = await pool.terminate();
      expect(code).toBe(0);
      const stopped = pool.logs().filter((l) => l.msg === 'dispatcher stopped');
      expect(new Set(stopped.map((l) => l.member))).toEqual(new Set([1, 2]));
      expect(pool.logs().some((l) => l.msg === 'every member stopped')).toBe(true);
      const committed = await committedOffsets(group, topic);
      expect([...committed.values()].reduce((a, b) => a + Math.max(0, b), 0)).toBe(300);
    } finally {
      await sink.close();
    }
  });

  it('a member that cannot start stops the pod with exit 1, as a single process does', async () => {
    const sink = await startRecordingSink();
    try {
      const pool = await processes.start('pool', {
        ...baseEnv(brokers().join(','), 'kd-test-no-such-topic', 'kd-test-no-such-group', sink.url),
        CONSUMERS: '2',
      });
      expect(await pool.cli.exited).toBe(1);
      const logs = pool.logs();
      expect(logs.some((l) => l.level === 'fatal' && typeof l.member === 'number' && l.msg.includes('does not exist'))).toBe(true);
      expect(logs.some((l) => l.level === 'fatal' && /^member \d exited \(code 1\) before it started: stopping the pod$/.test(l.msg))).toBe(
        true,
      );
    } finally {
      await sink.close();
    }
  });
});
