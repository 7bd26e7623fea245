import { afterAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { connectProducer, Ledger, sized } from '../../helpers/ledger.js';
import { startLedgerSink } from '../../helpers/ledger-sink.js';
import { baseEnv, useDispatcherProcesses } from '../../helpers/dispatcher-process.js';
import { useOwnBroker } from '../../helpers/own-broker.js';
import { prng } from '../../helpers/prng.js';
import { waitFor } from '../../helpers/wait-for.js';

// The broker stopped under load and started again: a broker of this file's own (port 29892), since
// the shared one serves the other tests. Nothing lost, order kept, delivery resumes on its own.

const PARTITIONS = 3;
const BEFORE = sized(1500, 10_000);
const AFTER = sized(500, 5000);
const OUTAGE_MS = sized(5000, 60_000);
/** kafkajs reconnects with backoff (up to 10 s between tries) and may restart the consumer: a bound, not a target. */
const RESUME_WITHIN_MS = 30_000;

const own = useOwnBroker('kd-faults-broker', { port: Number(process.env.KD_TEST_FAULTS_BROKER_PORT ?? 29892) });
const processes = useDispatcherProcesses();
let producer: Producer | undefined;
afterAll(async () => {
  await producer?.disconnect();
});

describe('broker stopped and restarted under load', () => {
  it(
    'loses nothing, keeps per-partition order, and resumes delivery once the broker is back',
    async () => {
      const broker = own.broker;
      const topic = `kd-faults-restart-${Math.random().toString(36).slice(2, 8)}`;
      const admin = new Kafka({ brokers: [broker.brokers], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
      await admin.disconnect();
      producer = await connectProducer([broker.brokers]);
      const ledger = new Ledger(topic, PARTITIONS);
      const random = prng(5);
      // A sink slow enough that the backlog is still mostly in Kafka when the broker goes.
      const sink = await startLedgerSink(ledger, () => ({ kind: 'ok', delayMs: 4 + Math.floor(random() * 6) }));
      const dispatcher = await processes.start('broker-restart', {
        ...baseEnv(broker.brokers, topic, `${topic}-group`, sink.url),
        ORDERING: 'ordered',
        COMMIT_INTERVAL: '0.5',
        KAFKA_SESSION_TIMEOUT: '6',
        MAX_BUFFERED_RECORDS: '100',
        FETCH_MAX_BYTES_PER_PARTITION: '4096',
        LAG_INTERVAL: '1',
      });
      try {
        await ledger.produce(producer, BEFORE);
        await waitFor(() => ledger.delivered().size >= BEFORE / 4, 'a quarter delivered', 60_000);
        await broker.stop();
        const downAt = Date.now();
        // Down for the outage, and until what was buffered has gone out, so that what follows
        // really waits on the broker.
        await waitFor(
          () => Date.now() - downAt >= OUTAGE_MS && Date.now() - Math.max(0, ...ledger.arrivals.map((a) => a.receivedAt)) > 1000,
          'the outage and the buffer drained',
          OUTAGE_MS + 30_000,
        );
        await broker.start();
        ledger.faultEnded();
        await ledger.produce(producer, AFTER);
        await waitFor(() => ledger.complete(), 'every record delivered after the restart', sized(120_000, 300_000));
      } finally {
        ledger.record('broker stopped and restarted', {
          ordering: { by: 'partition' },
          peakRssMiB: dispatcher.rss.peakMiB,
          notes: `outage ${OUTAGE_MS / 1000} s`,
        });
        await dispatcher.terminate(15_000);
        await sink.close();
      }
      expect(ledger.lost()).toEqual([]);
      expect(ledger.orderViolations({ by: 'partition' })).toEqual([]);
      expect(ledger.mislabeled()).toEqual([]);
      expect(ledger.resumeMs()!).toBeLessThanOrEqual(RESUME_WITHIN_MS);
    },
    sized(240_000, 600_000),
  );
});
