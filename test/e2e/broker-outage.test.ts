import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalBroker } from '../../tools/broker/local-broker.js';
import { startRecordingSink } from '../helpers/recording-sink.js';
import { startTestDispatcher, type TestDispatcher } from '../helpers/dispatcher.js';
import { waitFor } from '../helpers/wait-for.js';
import { BROKER_ANSWER_TIMEOUT_MS } from '../../src/telemetry/lag-collector.js';

// A broker of its own, since this test stops it under a running dispatcher.
const PORT = Number(process.env.KD_TEST_OUTAGE_BROKER_PORT ?? 29592);
const LAG_INTERVAL_MS = 1000;

describe('broker outage', () => {
  const broker = new LocalBroker({ port: PORT, controllerPort: PORT + 1, stateDir: mkdtempSync(join(tmpdir(), 'kd-outage-')) });
  let dispatcher: TestDispatcher | undefined;
  afterAll(async () => {
    await dispatcher?.stop(5000).catch(() => {});
    await broker.stop();
  });

  it('/readyz says the brokers are unreachable while they are down, and recovers with them', async () => {
    await broker.start();
    const topic = `outage-${Math.random().toString(36).slice(2, 8)}`;
    const kafka = new Kafka({ brokers: [broker.brokers], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
    await admin.disconnect();
    const sink = await startRecordingSink();
    try {
      dispatcher = await startTestDispatcher({
        brokers: [broker.brokers],
        topics: [topic],
        groupId: `${topic}-group`,
        sinkUri: sink.url,
        lagIntervalMs: LAG_INTERVAL_MS,
      });
      await waitFor(() => dispatcher!.isReady(), 'ready');
      expect(await dispatcher.metrics.registry.getSingleMetricAsString('kafka_dispatch_consumer_connected')).toMatch(/connected 1$/m);

      await broker.stop();
      // The stated bound: LAG_INTERVAL plus the brokers' answer timeout (kafkajs alone retries for ~30 s).
      const stoppedAt = performance.now();
      await waitFor(
        () => /brokers unreachable|consumer crashed/.test(dispatcher!.notReadyReason() ?? ''),
        '/readyz to report the outage',
        30_000,
      );
      expect(performance.now() - stoppedAt).toBeLessThan(LAG_INTERVAL_MS + BROKER_ANSWER_TIMEOUT_MS + 1500);
      expect(await dispatcher.metrics.registry.getSingleMetricAsString('kafka_dispatch_consumer_connected')).toMatch(/connected 0$/m);

      await broker.start();
      await waitFor(() => dispatcher!.isReady(), 'ready again once the broker is back', 90_000);
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: [{ value: 'after the outage' }] });
      await producer.disconnect();
      await waitFor(() => sink.requests.some((r) => r.body === 'after the outage'), 'delivery after the outage', 60_000);
    } finally {
      await sink.close();
    }
  }, 180_000);
});
