import { afterAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import type { Settings } from '../../../src/config/settings.js';
import { brokers, createTopic, disconnectKafka } from '../../helpers/kafka.js';
import { connectProducer, Ledger, sized } from '../../helpers/ledger.js';
import { startLedgerSink } from '../../helpers/ledger-sink.js';
import { baseEnv, useDispatcherProcesses, type DispatcherProcess } from '../../helpers/dispatcher-process.js';
import { prng } from '../../helpers/prng.js';
import { waitFor } from '../../helpers/wait-for.js';

// SIGKILL of `kafka-dispatch run` mid-stream, then a restart, as a crash-looping pod does: nothing
// lost, and in ordered and key mode order survives apart from redelivering what was uncommitted.

const PARTITIONS = 3;
const KEYS = 48;
const RECORDS = sized(1500, 20_000);
/** Kills at these fractions of the records delivered (the long form at seeded random moments). */
const KILL_AT = sized(
  [1 / 3],
  [0.15, 0.3, 0.45, 0.6, 0.75].map((f) => f + prng(7)() * 0.05),
);
const COMMIT_INTERVAL_MS = 500;
const MAX_IN_FLIGHT = 32;

const processes = useDispatcherProcesses();
let producer: Producer | undefined;
afterAll(async () => {
  await producer?.disconnect();
  await disconnectKafka();
});

function env(topic: string, group: string, sinkUrl: string, ordering: Settings['ordering']): Record<string, string> {
  return {
    ...baseEnv(brokers().join(','), topic, group, sinkUrl),
    ORDERING: ordering,
    MAX_IN_FLIGHT: String(MAX_IN_FLIGHT),
    COMMIT_INTERVAL: String(COMMIT_INTERVAL_MS / 1000),
    RETRY_COUNT: '3',
    RETRY_INTERVAL: '0.05',
    // A restart rejoins once the killed member's session has expired; 6 s is the broker's minimum.
    KAFKA_SESSION_TIMEOUT: '6',
    // Small buffers: at each kill most of the backlog is still in Kafka, not in the killed process.
    MAX_BUFFERED_RECORDS: '200',
    FETCH_MAX_BYTES_PER_PARTITION: '8192',
  };
}

describe.each(['ordered', 'key', 'unordered'] as const)('SIGKILL mid-stream and restart, ordering %s', (ordering) => {
  it(
    `loses nothing${ordering === 'unordered' ? '' : ` and keeps ${ordering === 'key' ? 'per-key' : 'per-partition'} order`}; repeats at most the uncommitted window`,
    async () => {
      const { topic, group } = await createTopic(PARTITIONS, `kd-kill-${ordering}`);
      producer ??= await connectProducer(brokers());
      const ledger = new Ledger(topic, PARTITIONS, ordering === 'key' ? KEYS : 0);
      const random = prng(42);
      const sink = await startLedgerSink(ledger, () => ({ kind: 'ok', delayMs: 1 + Math.floor(random() * 6) }));
      const members: DispatcherProcess[] = [];
      const kills: number[] = [];
      // The figures are recorded even when a wait fails, then the failure is rethrown.
      let failure: unknown;
      try {
        await ledger.produce(producer, RECORDS, (e) => ({ value: `{"id":"${e.id}","pad":"${'x'.repeat(100)}"}` }));
        members.push(await processes.start('first', env(topic, group, sink.url, ordering)));
        for (const [i, fraction] of KILL_AT.entries()) {
          await waitFor(() => ledger.delivered().size >= RECORDS * fraction, `${Math.round(fraction * 100)}% delivered`, 90_000);
          kills.push(Date.now());
          await members.at(-1)!.kill();
          members.push(await processes.start(`restart-${i + 1}`, env(topic, group, sink.url, ordering)));
          ledger.faultEnded();
        }
        await waitFor(() => ledger.complete(), 'every record delivered after the restarts', sized(90_000, 240_000));
      } catch (error) {
        failure = error;
      } finally {
        await members.at(-1)?.terminate(30_000);
        await sink.close();
      }
      const order = ordering === 'unordered' ? undefined : { by: ordering === 'key' ? ('key' as const) : ('partition' as const) };
      const figures = ledger.record(`SIGKILL + restart (${ordering})`, {
        ...(order ? { ordering: order } : {}),
        peakRssMiB: Math.max(...members.map((m) => m.rss.peakMiB)),
        notes: `${kills.length} kill(s)`,
      });
      if (failure) throw failure;

      expect(ledger.lost(), 'records never delivered').toEqual([]);
      expect(ledger.foreign, 'requests for records never produced').toEqual([]);
      expect(ledger.mislabeled(), 'events whose partition/offset do not match the record').toEqual([]);
      if (order) expect(ledger.orderViolations(order), 'records that overtook an earlier one').toEqual([]);
      // What a kill may repeat: records finished since the last commit (one commit interval plus a
      // commit round trip) and those in flight at the kill.
      const repeatable = kills.reduce((sum, at) => sum + ledger.deliveredBetween(at - COMMIT_INTERVAL_MS - 250, at) + MAX_IN_FLIGHT, 0);
      expect(figures.duplicates).toBeLessThanOrEqual(repeatable);
    },
    sized(150_000, 600_000),
  );
});
