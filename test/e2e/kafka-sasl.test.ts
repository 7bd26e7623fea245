import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { Settings } from '../../src/config/settings.js';
import { useOwnBroker } from '../helpers/own-broker.js';
import { startTestDispatcher } from '../helpers/dispatcher.js';
import { waitFor } from '../helpers/wait-for.js';

// A broker of its own with a SASL listener: the shared test broker speaks PLAINTEXT only.
const PORT = Number(process.env.KD_TEST_SASL_BROKER_PORT ?? 29292);
const SASL_PORT = PORT + 2;
const USERS = { alice: 'alice-secret' };

describe('SASL to the brokers (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)', () => {
  const own = useOwnBroker('sasl', { port: PORT, sasl: { port: SASL_PORT, users: USERS } });
  const { topicWith } = own;

  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    it(`consumes over SASL ${mechanism} and delivers`, async () => {
      const topic = await topicWith(`via-${mechanism}`);
      const dispatcher = await startTestDispatcher({
        brokers: [`127.0.0.1:${SASL_PORT}`],
        topics: [topic],
        groupId: `${topic}-group`,
        sinkUri: own.sink.url,
        saslMechanism: mechanism,
        saslUsername: 'alice',
        saslPassword: USERS.alice,
      } satisfies Partial<Settings> & Pick<Settings, 'topics' | 'groupId' | 'sinkUri'>);
      try {
        await waitFor(() => own.sink.requests.some((r) => r.body === `via-${mechanism}`), `delivery over ${mechanism}`);
      } finally {
        await dispatcher.stop(5000);
      }
      // Delivered once, and the commit made over SASL is the one the group now has.
      expect(own.sink.requests.filter((r) => r.body === `via-${mechanism}`)).toHaveLength(1);
      expect(await committedOffset(own.broker.brokers, `${topic}-group`, topic)).toBe('1');
    });
  }

  it('fails to start with a wrong password and says it is an authentication failure', async () => {
    const topic = await topicWith('never');
    await expect(
      startTestDispatcher({
        brokers: [`127.0.0.1:${SASL_PORT}`],
        topics: [topic],
        groupId: `${topic}-group`,
        sinkUri: own.sink.url,
        saslMechanism: 'scram-sha-256',
        saslUsername: 'alice',
        saslPassword: 'wrong-password',
      }),
    ).rejects.toThrow(/SASL SCRAM SHA-?256 authentication failed/i);
  });
});

async function committedOffset(brokers: string, groupId: string, topic: string): Promise<string | undefined> {
  const admin = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return offsets?.partitions.find((p) => p.partition === 0)?.offset;
  } finally {
    await admin.disconnect();
  }
}
