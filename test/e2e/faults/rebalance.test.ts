import { afterAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { brokers, committedOffsets, createTopic, disconnectKafka } from '../../helpers/kafka.js';
import { connectProducer, Ledger, sized } from '../../helpers/ledger.js';
import { startLedgerSink } from '../../helpers/ledger-sink.js';
import { baseEnv, keepLogs, useDispatcherProcesses, type DispatcherProcess } from '../../helpers/dispatcher-process.js';
import { prng } from '../../helpers/prng.js';
import { sleep, waitFor } from '../../helpers/wait-for.js';

// Replicas added and removed under load, as an autoscaler does: two, then three instances, then
// back, each leaving with SIGTERM (a planned rebalance). Nothing lost; in ordered mode nothing out of
// order and at most what was in flight repeated (one record per partition per rebalance: issue 9,
// defect 7).

const PARTITIONS = 6;
/** Each round: B joins, C joins, B leaves, C leaves. */
const ROUNDS = sized(1, 3);
const PROGRESS = sized(300, 1500);

const processes = useDispatcherProcesses();
let producer: Producer | undefined;
afterAll(async () => {
  await producer?.disconnect();
  await disconnectKafka();
});

describe('instances joining and leaving under load (ordered)', () => {
  it(
    'loses nothing, delivers nothing out of order, and repeats at most one in-flight record per partition per rebalance',
    async () => {
      const { topic, group } = await createTopic(PARTITIONS, 'kd-rebalance');
      producer ??= await connectProducer(brokers());
      const ledger = new Ledger(topic, PARTITIONS);
      const random = prng(3);
      const sink = await startLedgerSink(ledger, () => ({ kind: 'ok', delayMs: 2 + Math.floor(random() * 5) }));
      const env = {
        ...baseEnv(brokers().join(','), topic, group, sink.url),
        ORDERING: 'ordered',
        COMMIT_INTERVAL: '0.5',
        KAFKA_SESSION_TIMEOUT: '6',
        SHUTDOWN_GRACE: '10',
        MAX_BUFFERED_RECORDS: '200',
        FETCH_MAX_BYTES_PER_PARTITION: '8192',
      };
      let producing = true;
      const load = (async () => {
        while (producing) {
          await ledger.produce(producer!, 30);
          await sleep(100);
        }
      })();
      const members: DispatcherProcess[] = [];
      let changes = 0;
      let committedPast: number | undefined;
      const progress = async (what: string) => {
        const target = ledger.delivered().size + PROGRESS;
        await waitFor(() => ledger.delivered().size >= target, `${PROGRESS} more deliveries ${what}`, 90_000);
      };
      const join = async (name: string) => {
        const member = await processes.start(name, env);
        members.push(member);
        changes++;
        await waitFor(() => member.assigned().length > 0, `${name} to get partitions`, 60_000);
        await progress(`after ${name} joined`);
        return member;
      };
      const leave = async (member: DispatcherProcess) => {
        changes++;
        await member.terminate(30_000);
        await progress(`after ${member.name} left`);
      };
      try {
        await ledger.produce(producer, 1000);
        const a = await processes.start('a', env);
        members.push(a);
        await progress('with a alone');
        for (let round = 1; round <= ROUNDS; round++) {
          const b = await join(`b${round}`);
          const c = await join(`c${round}`);
          await leave(b);
          await leave(c);
        }
        producing = false;
        await load;
        // Every record, or a stall of 15 s with one member owning every partition: lost, not late.
        await waitFor(() => ledger.settledOrStalled(15_000), 'every record delivered', 90_000);
      } finally {
        producing = false;
        await load.catch(() => {});
        // A lost record behind the group's committed offset is gone for good: no restart re-reads it.
        const committed = await committedOffsets(group, topic).catch(() => new Map<number, number>());
        committedPast = ledger.lost().filter((e) => (committed.get(e.partition) ?? -1) > e.offset).length;
        ledger.record('instances joining and leaving (ordered)', {
          ordering: { by: 'partition' },
          peakRssMiB: Math.max(...members.map((m) => m.rss.peakMiB)),
          notes: `${changes} planned rebalances, ${members.length} processes; ${committedPast} lost records behind the committed offset`,
        });
        // A loss is worth its evidence: every member's log, to see who committed past what.
        if (ledger.lost().length > 0) keepLogs('rebalance-ordered', members, { lost: ledger.lostSummary(), committed: [...committed] });
        for (const m of members) await m.terminate(15_000);
        await sink.close();
      }
      expect(ledger.lostSummary(), 'records never delivered').toEqual([]);
      expect(committedPast, 'lost records the group has committed past').toBe(0);
      expect(ledger.mislabeled()).toEqual([]);
      expect(ledger.orderViolations({ by: 'partition' }), 'records delivered after a later one of their partition').toEqual([]);
      expect(ledger.duplicates(), 'repeats beyond one in-flight record per partition per rebalance').toBeLessThanOrEqual(
        PARTITIONS * changes,
      );
    },
    sized(180_000, 600_000),
  );
});
