import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBroker } from '../../src/broker/local-broker.js';
import { makeTestPki } from '../helpers/certs.js';
import { startRecordingSink, type RecordingSink } from '../helpers/recording-sink.js';
import { startTestDispatcher } from '../helpers/dispatcher.js';
import { waitFor } from '../helpers/wait-for.js';

// A broker of its own with an SSL listener that requires client certificates.
const PORT = Number(process.env.KD_TEST_TLS_BROKER_PORT ?? 29392);
const TLS_PORT = PORT + 2;

describe('TLS to the brokers (CA and client certificate)', () => {
  const pki = makeTestPki();
  const keystore = join(pki.dir, 'broker-keystore.pem');
  writeFileSync(keystore, pki.serverKey + pki.serverCert);
  const broker = new LocalBroker({
    port: PORT,
    controllerPort: PORT + 1,
    stateDir: mkdtempSync(join(tmpdir(), 'kd-tls-')),
    tls: { port: TLS_PORT, keystoreFile: keystore, truststoreFile: join(pki.dir, 'ca.pem'), clientAuth: true },
  });
  let sink: RecordingSink;
  let startedByUs = false;

  beforeAll(async () => {
    startedByUs = (await broker.start()).startedByUs;
    sink = await startRecordingSink();
  }, 120_000);
  afterAll(async () => {
    await sink?.close();
    if (startedByUs) await broker.stop();
  });

  async function topicWith(value: string): Promise<string> {
    const topic = `tls-${Math.random().toString(36).slice(2, 8)}`;
    const kafka = new Kafka({ brokers: [broker.brokers], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const producer = kafka.producer();
    await Promise.all([admin.connect(), producer.connect()]);
    await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
    await producer.send({ topic, messages: [{ value }] });
    await Promise.all([admin.disconnect(), producer.disconnect()]);
    return topic;
  }

  it('consumes over TLS, trusting the given CA and presenting its client certificate', async () => {
    const topic = await topicWith('over-tls');
    const dispatcher = await startTestDispatcher({
      brokers: [`127.0.0.1:${TLS_PORT}`],
      topics: [topic],
      groupId: `${topic}-group`,
      sinkUri: sink.url,
      tlsEnabled: true,
      tlsCaCert: pki.ca,
      tlsCert: pki.clientCert,
      tlsKey: pki.clientKey,
    });
    try {
      await waitFor(() => sink.requests.some((r) => r.body === 'over-tls'), 'delivery of a record read over TLS');
    } finally {
      await dispatcher.stop(5000);
    }
  });

  it('fails to start without a client certificate the broker requires', async () => {
    const topic = await topicWith('never');
    await expect(
      startTestDispatcher({ brokers: [`127.0.0.1:${TLS_PORT}`], topics: [topic], groupId: `${topic}-group`, sinkUri: sink.url, tlsEnabled: true, tlsCaCert: pki.ca }),
    ).rejects.toThrow();
    expect(sink.requests.some((r) => r.body === 'never')).toBe(false);
  });
});
