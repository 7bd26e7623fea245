import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBroker } from '../../src/broker/local-broker.js';
import type { Settings } from '../../src/config/settings.js';
import { startRecordingSink, type RecordingSink } from '../helpers/recording-sink.js';
import { startTestDispatcher } from '../helpers/dispatcher.js';
import { waitFor } from '../helpers/wait-for.js';

// A broker of its own with a SASL listener: the shared test broker speaks PLAINTEXT only.
const PORT = Number(process.env.KD_TEST_SASL_BROKER_PORT ?? 29292);
const SASL_PORT = PORT + 2;
const USERS = { alice: 'alice-secret' };

describe('SASL to the brokers (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)', () => {
  const broker = new LocalBroker({ port: PORT, controllerPort: PORT + 1, stateDir: mkdtempSync(join(tmpdir(), 'kd-sasl-')), sasl: { port: SASL_PORT, users: USERS } });
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
    const topic = `sasl-${Math.random().toString(36).slice(2, 8)}`;
    const kafka = new Kafka({ brokers: [broker.brokers], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const producer = kafka.producer();
    await Promise.all([admin.connect(), producer.connect()]);
    await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
    await producer.send({ topic, messages: [{ value }] });
    await Promise.all([admin.disconnect(), producer.disconnect()]);
    return topic;
  }

  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    it(`consumes over SASL ${mechanism} and delivers`, async () => {
      const topic = await topicWith(`via-${mechanism}`);
      const dispatcher = await startTestDispatcher({
        brokers: [`127.0.0.1:${SASL_PORT}`],
        topics: [topic],
        groupId: `${topic}-group`,
        sinkUri: sink.url,
        saslMechanism: mechanism,
        saslUsername: 'alice',
        saslPassword: USERS.alice,
      } satisfies Partial<Settings> & Pick<Settings, 'topics' | 'groupId' | 'sinkUri'>);
      try {
        await waitFor(() => sink.requests.some((r) => r.body === `via-${mechanism}`), `delivery over ${mechanism}`);
      } finally {
        await dispatcher.stop(5000);
      }
    });
  }

  it('fails to start with a wrong password and says it is an authentication failure', async () => {
    const topic = await topicWith('never');
    await expect(
      startTestDispatcher({ brokers: [`127.0.0.1:${SASL_PORT}`], topics: [topic], groupId: `${topic}-group`, sinkUri: sink.url, saslMechanism: 'scram-sha-256', saslUsername: 'alice', saslPassword: 'wrong-password' }),
    ).rejects.toThrow(/SASL|authentication/i);
  });
});
