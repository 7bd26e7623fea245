import { afterAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { brokers, createTopic, disconnectKafka } from '../../helpers/kafka.js';
import { connectProducer, Ledger, sized } from '../../helpers/ledger.js';
import { startLedgerSink, type SinkAnswer, type SinkRequest } from '../../helpers/ledger-sink.js';
import { baseEnv, useDispatcherProcesses } from '../../helpers/dispatcher-process.js';
import { prng } from '../../helpers/prng.js';
import { waitFor } from '../../helpers/wait-for.js';

// A flaky sink: 503s, requests that hang past REQUEST_TIMEOUT, connections reset mid-request.
// Under `skip` every record is delivered or given up, and every give-up is counted and logged;
// under `block` nothing is given up at all and order holds.

const PARTITIONS = 3;
const RETRY_COUNT = 2;
// Long enough that a loaded CI machine answers every accepted request within it; hangs still time out.
const REQUEST_TIMEOUT_S = 1;

const processes = useDispatcherProcesses();
let producer: Producer | undefined;
afterAll(async () => {
  await producer?.disconnect();
  await disconnectKafka();
});

/** 30% 503, 5% hang, 5% reset, the rest accepted within a few ms; seeded, so each run sees the same faults. */
function flaky(seed: number, poison: (request: SinkRequest) => boolean = () => false): (request: SinkRequest) => SinkAnswer {
  const random = prng(seed);
  return (request) => {
    if (poison(request)) return { kind: 'status', status: 503 };
    const roll = random();
    if (roll < 0.3) return { kind: 'status', status: 503 };
    if (roll < 0.35) return { kind: 'hang' };
    if (roll < 0.4) return { kind: 'reset' };
    return { kind: 'ok', delayMs: Math.floor(random() * 4) };
  };
}

describe('a flaky sink (503s, hangs past the request timeout, connection resets)', () => {
  it(
    'skip: every record is delivered or given up after its retries, and every give-up is counted in the metrics and logged',
    async () => {
      const records = sized(600, 10_000);
      const { topic, group } = await createTopic(PARTITIONS, 'kd-flaky-skip');
      producer ??= await connectProducer(brokers());
      const ledger = new Ledger(topic, PARTITIONS, 30);
      // One record in 40 the sink never takes, so that some are certainly given up.
      const isPoison = (id: string | undefined) => id !== undefined && Number(id.split('s')[1]) % 40 === 13;
      const sink = await startLedgerSink(
        ledger,
        flaky(1, (r) => isPoison(r.arrival.id)),
      );
      const dispatcher = await processes.start('flaky-skip', {
        ...baseEnv(brokers().join(','), topic, group, sink.url),
        ORDERING: 'key',
        FAILURE_POLICY: 'skip',
        RETRY_COUNT: String(RETRY_COUNT),
        RETRY_INTERVAL: '0.05',
        REQUEST_TIMEOUT: String(REQUEST_TIMEOUT_S),
      });
      try {
        await ledger.produce(producer, records);
        await waitFor(
          () => {
            ledger.noteGivenUp(dispatcher.logs());
            return ledger.complete();
          },
          'every record delivered or given up',
          sized(60_000, 300_000),
        );
        const skippedMetric = await dispatcher.metric('kafka_dispatch_records_finished_total', 'outcome="skipped"');
        const giveUps = dispatcher.logs().filter((l) => l.msg.startsWith('record given up'));
        ledger.record('flaky sink, skip', {
          ordering: { by: 'key' },
          peakRssMiB: dispatcher.rss.peakMiB,
          notes: `${giveUps.length} given up`,
        });

        expect(ledger.lost(), 'records neither delivered nor given up').toEqual([]);
        const poison = [...ledger.entries.values()].filter((e) => isPoison(e.id));
        expect(
          poison.filter((e) => !ledger.givenUp.has(e.id)),
          'records the sink never took but were not given up',
        ).toEqual([]);
        expect(skippedMetric, 'skips counted in kafka_dispatch_records_finished_total').toBe(ledger.givenUp.size);
        expect(giveUps, 'one give-up log line per record').toHaveLength(ledger.givenUp.size);
        for (const line of giveUps) expect(line.status ?? line.code, 'a give-up says why').toBeDefined();
        const delivered = ledger.delivered();
        expect(
          [...ledger.givenUp].filter((id) => delivered.has(id)),
          'records given up although the sink took them',
        ).toEqual([]);
        // Given up only after the retries: the first attempt and RETRY_COUNT more reached the sink.
        // (More than that when the sink circuit probed it: probes do not count as retries.)
        expect([...ledger.givenUp].filter((id) => (sink.attempts.get(id) ?? 0) < RETRY_COUNT + 1)).toEqual([]);
        expect(ledger.duplicates(), 'records the sink took twice').toBe(0);
        expect(ledger.orderViolations({ by: 'key' })).toEqual([]);
      } finally {
        await dispatcher.terminate(10_000);
        await sink.close();
      }
    },
    sized(90_000, 400_000),
  );

  it(
    'block: nothing is given up or lost, each partition waits for its record, order holds',
    async () => {
      const records = sized(300, 5000);
      const { topic, group } = await createTopic(PARTITIONS, 'kd-flaky-block');
      producer ??= await connectProducer(brokers());
      const ledger = new Ledger(topic, PARTITIONS);
      const sink = await startLedgerSink(ledger, flaky(2));
      const dispatcher = await processes.start('flaky-block', {
        ...baseEnv(brokers().join(','), topic, group, sink.url),
        ORDERING: 'ordered',
        FAILURE_POLICY: 'block',
        RETRY_COUNT: '1',
        RETRY_INTERVAL: '0.05',
        MAX_BACKOFF: '0.2',
        REQUEST_TIMEOUT: String(REQUEST_TIMEOUT_S),
      });
      try {
        await ledger.produce(producer, records);
        await waitFor(
          () => {
            ledger.noteGivenUp(dispatcher.logs());
            return ledger.delivered().size + ledger.givenUp.size === records;
          },
          'every record delivered',
          sized(60_000, 400_000),
        );
        const blockedRetries = await dispatcher.metric('kafka_dispatch_blocked_retries_total');
        const skipped = await dispatcher.metric('kafka_dispatch_records_finished_total', 'outcome="skipped"');
        ledger.record('flaky sink, block', {
          ordering: { by: 'partition' },
          peakRssMiB: dispatcher.rss.peakMiB,
          notes: `${blockedRetries} blocked retries`,
        });

        expect(ledger.lost()).toEqual([]);
        expect(ledger.givenUp.size, 'records given up under block').toBe(0);
        expect(skipped).toBe(0);
        // The faults did hold partitions (else this proves nothing about block).
        expect(blockedRetries).toBeGreaterThan(0);
        expect(ledger.orderViolations({ by: 'partition' })).toEqual([]);
        expect(ledger.duplicates(), 'records the sink took twice').toBe(0);
      } finally {
        await dispatcher.terminate(10_000);
        await sink.close();
      }
    },
    sized(90_000, 500_000),
  );
});
