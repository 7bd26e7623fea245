import { afterAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { brokers, createTopic, disconnectKafka } from '../../helpers/kafka.js';
import { connectProducer, Ledger, sized } from '../../helpers/ledger.js';
import { startLedgerSink } from '../../helpers/ledger-sink.js';
import { baseEnv, useDispatcherProcesses } from '../../helpers/dispatcher-process.js';
import { sleep, waitFor } from '../../helpers/wait-for.js';

// The sink down (connections refused) for a long stretch while the backlog keeps growing, with the
// retry settings users get by default (Knative's: 10 retries, exponential from 0.3 s): fetching
// pauses so the buffer and the memory stay flat, and once the sink is back delivery resumes within
// seconds, not after the minutes-long later backoffs (issue 9, defect 4).

const PARTITIONS = 3;
// 20 s: past it, the next Knative backoff (19.2 s) already outlasts the outage; 180 s as in the issue.
const OUTAGE_MS = sized(20_000, 180_000);
const PRODUCE_PER_SECOND = 60;
const MAX_BUFFERED = 300;
const MAX_IN_FLIGHT = 64;
const FETCH_BYTES = 8192;
/**
 * Records per send: a send's records for one partition become one record batch, and a fetch brings
 * at least one whole batch whatever FETCH_MAX_BYTES_PER_PARTITION says; small sends keep the
 * batches under the fetch size, so the bound below is the dispatcher's, not the producer's.
 */
const BATCH = 30;
/** Promptly: a few seconds after the sink answers again. */
const RESUME_WITHIN_MS = 5000;
/** What RSS may grow by over the outage once the buffer is full (GC slack, not a growing backlog). */
const RSS_GROWTH_MIB = 30;

const processes = useDispatcherProcesses();
let producer: Producer | undefined;
afterAll(async () => {
  await producer?.disconnect();
  await disconnectKafka();
});

describe('the sink down for a long stretch under a growing backlog (Knative default retries)', () => {
  it(
    'pauses fetching (buffer bounded, RSS flat), loses nothing, and resumes delivery within seconds of the sink coming back',
    async () => {
      const { topic, group } = await createTopic(PARTITIONS, 'kd-sink-down');
      producer ??= await connectProducer(brokers());
      const ledger = new Ledger(topic, PARTITIONS);
      const sink = await startLedgerSink(ledger);
      const value = (id: string) => ({ value: `{"id":"${id}","pad":"${'x'.repeat(100)}"}` });
      const dispatcher = await processes.start('sink-down', {
        ...baseEnv(brokers().join(','), topic, group, sink.url),
        // RETRY_COUNT, BACKOFF_POLICY, BACKOFF_DELAY and REQUEST_TIMEOUT left at their (Knative) defaults.
        MAX_BUFFERED_RECORDS: String(MAX_BUFFERED),
        MAX_IN_FLIGHT: String(MAX_IN_FLIGHT),
        FETCH_MAX_BYTES_PER_PARTITION: String(FETCH_BYTES),
      });
      let producing = true;
      const buffered: Array<{ at: number; records: number }> = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const records = await dispatcher.metric('kafka_dispatch_buffered_records').catch(() => Number.NaN);
          if (!Number.isNaN(records)) buffered.push({ at: Date.now(), records });
          await sleep(500);
        }
      })();
      // A steady stream of new records, through the outage and after it.
      const load = (async () => {
        while (producing) {
          await ledger.produce(producer!, PRODUCE_PER_SECOND / 5, (e) => value(e.id), BATCH);
          await sleep(200);
        }
      })();
      let downAt = 0;
      let backAt = 0;
      // The figures are recorded even when a wait fails, then the failure is rethrown.
      let failure: unknown;
      try {
        await ledger.produce(producer, 1000, (e) => value(e.id), BATCH);
        await waitFor(() => ledger.delivered().size >= 300, 'delivery under way');
        await sink.stop();
        downAt = Date.now();
        // The outage itself is the fault: its length is the point, not a guess at a condition.
        await sleep(OUTAGE_MS);
        await sink.start();
        backAt = Date.now();
        ledger.faultEnded(backAt);
        // Long enough to see when it resumes even where it does not resume promptly (today's backoffs).
        await waitFor(() => ledger.resumeMs() !== undefined, 'a delivery after the sink is back', sized(60_000, 330_000)).catch(() => {});
        producing = false;
        await load;
        await waitFor(
          () => {
            ledger.noteGivenUp(dispatcher.logs());
            return ledger.complete();
          },
          'every record delivered after the outage',
          sized(60_000, 400_000),
        );
      } catch (error) {
        failure = error;
      } finally {
        producing = false;
        sampling = false;
        await load.catch(() => {});
        await sampler;
        await dispatcher.terminate(10_000);
        await sink.close();
      }
      const recordBytes = 150;
      const bufferBound = Math.max(MAX_BUFFERED, MAX_IN_FLIGHT) + PARTITIONS * Math.ceil(FETCH_BYTES / recordBytes);
      const duringOutage = buffered.filter((b) => b.at >= downAt && b.at <= backAt);
      const peakBuffered = Math.max(...buffered.map((b) => b.records));
      // Memory once the buffer has filled (a few seconds in) against the rest of the outage.
      const settled = downAt + Math.min(5000, OUTAGE_MS / 3);
      const rssSettled = dispatcher.rss.maxBetween(downAt, settled);
      const rssLater = dispatcher.rss.maxBetween(settled, backAt);
      const figures = ledger.record('sink down, Knative default retries', {
        ordering: { by: 'partition' },
        peakRssMiB: dispatcher.rss.peakMiB,
        notes: `outage ${OUTAGE_MS / 1000} s, peak buffered ${peakBuffered} (bound ${bufferBound}), RSS ${rssSettled.toFixed(0)}→${rssLater.toFixed(0)} MiB`,
      });
      if (failure) throw failure;

      expect(ledger.lost(), 'records neither delivered nor given up').toEqual([]);
      expect(ledger.givenUp.size, 'records given up: the outage is far shorter than the retries').toBe(0);
      expect(duringOutage.length).toBeGreaterThan(2);
      expect(peakBuffered, 'records buffered in the dispatcher').toBeLessThanOrEqual(bufferBound);
      // The backlog grew in Kafka, not in the dispatcher.
      expect(ledger.producedCount - ledger.deliveredBetween(0, backAt)).toBeGreaterThan(bufferBound);
      expect(rssLater - rssSettled, 'RSS growth over the outage, MiB').toBeLessThan(RSS_GROWTH_MIB);
      expect(ledger.orderViolations({ by: 'partition' })).toEqual([]);
      expect(figures.resumeMs, 'ms from the sink back to the next delivery').not.toBeNull();
      expect(figures.resumeMs!).toBeLessThanOrEqual(RESUME_WITHIN_MS);
    },
    sized(180_000, 1_200_000),
  );
});
