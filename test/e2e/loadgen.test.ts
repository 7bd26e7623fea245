import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Summary } from '../../tools/loadgen/summary.js';
import { makeTestPki } from '../helpers/certs.js';
import { runToolsCli, startToolsCli } from '../helpers/cli.js';
import { brokers, createTopic, disconnectKafka } from '../helpers/kafka.js';
import { useOwnBroker } from '../helpers/own-broker.js';
import { waitFor } from '../helpers/wait-for.js';

// The load generator (node build/tools/cli.js loadgen) against the real broker: exact counts in the
// topic, the article's records, the JSON summary. Loads are seconds long; the rate tolerance is wide.
const ARTICLE = {
  id: 12182,
  template_name: 'template_media/videos/templates/8f3a5f293149095aa62958029e208501_1606889936.zip',
  width: 360,
  height: 640,
};

let kafka: Kafka;
let admin: Admin;

beforeAll(async () => {
  kafka = new Kafka({ clientId: 'kd-test-loadgen', brokers: brokers(), logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await disconnectKafka();
});

const env = () => ({ KAFKA_BROKERS: brokers().join(',') });

async function recordsIn(topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

/** Every record of the topic, read from the beginning. */
async function readAll(topic: string, expected: number): Promise<Array<{ key: string; value: string; partition: number }>> {
  const consumer = kafka.consumer({ groupId: `${topic}-reader` });
  const records: Array<{ key: string; value: string; partition: number }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        records.push({ key: message.key!.toString(), value: message.value!.toString(), partition });
      },
    });
    await waitFor(() => records.length >= expected, `${expected} records in ${topic}`);
  } finally {
    await consumer.disconnect();
  }
  return records;
}

function summaryOf(stdout: string): Summary {
  const lines = stdout.trim().split('\n');
  expect(lines, stdout).toHaveLength(1);
  return JSON.parse(lines[0]!) as Summary;
}

describe('loadgen against a real broker', () => {
  it('constant 200 msg/s for 3 s: creates the topic, lands exactly 600 article records with ns keys', async () => {
    const topic = `kd-loadgen-${randomUUID().slice(0, 8)}`;
    const startedNs = BigInt(Date.now()) * 1_000_000n;
    const { code, stdout, stderr } = await runToolsCli(
      ['loadgen', '--topic', topic, '--partitions', '3', '--rate', '200', '--duration', '3', '--json'],
      env(),
    );
    const endedNs = BigInt(Date.now()) * 1_000_000n;
    expect(code, stderr).toBe(0);
    expect(stderr).toContain(`created topic ${topic} with 3 partitions`);
    const summary = summaryOf(stdout);
    expect(summary).toMatchObject({ topic, target: 600, sent: 600, failed: 0, targetRate: 200, interrupted: false });
    expect(summary.shape).toBe('constant: 200 messages/s for 3 s');
    expect(summary.achievedRate).toBeGreaterThan(160);
    expect(summary.achievedRate).toBeLessThan(240);
    expect(summary.durationS).toBeGreaterThanOrEqual(3);
    expect(summary.latencyP50Ms).toBeGreaterThan(0);
    expect(summary.latencyP99Ms).toBeGreaterThanOrEqual(summary.latencyP50Ms!);

    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0]!.partitions).toHaveLength(3);
    expect(await recordsIn(topic)).toBe(600);
    const records = await readAll(topic, 600);
    expect(records).toHaveLength(600);
    // The values: the article's JSON, ids 12182 … 12781, each once.
    const ids = records.map((r) => {
      const value = JSON.parse(r.value) as typeof ARTICLE;
      expect(value).toEqual({ ...ARTICLE, id: value.id });
      return value.id;
    });
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: 600 }, (_, i) => 12182 + i));
    expect(records.find((r) => JSON.parse(r.value).id === 12182)!.value).toBe(JSON.stringify(ARTICLE));
    // The keys: nanosecond timestamps taken during the run, all different.
    for (const { key } of records) {
      expect(key).toMatch(/^\d{19}$/);
      expect(BigInt(key) >= startedNs - 1_000_000_000n && BigInt(key) <= endedNs).toBe(true);
    }
    expect(new Set(records.map((r) => r.key)).size).toBe(600);
    // The murmur2 partitioner spreads the keys over every partition.
    expect(new Set(records.map((r) => r.partition)).size).toBe(3);
  });

  it('the article burst, 50 × 2 s, to an existing topic: exactly 100 records; a different --partitions is only reported', async () => {
    const { topic } = await createTopic(2, 'kd-loadgen');
    const { code, stdout, stderr } = await runToolsCli(
      ['loadgen', '--topic', topic, '--partitions', '4', '--concurrency', '50', '--duration', '2', '--json'],
      env(),
    );
    expect(code, stderr).toBe(0);
    expect(stderr).toContain(`topic ${topic} already exists with 2 partitions, not 4`);
    const summary = summaryOf(stdout);
    expect(summary).toMatchObject({ topic, target: 100, sent: 100, failed: 0, targetRate: 50, interrupted: false });
    expect(summary.achievedRate).toBeGreaterThan(40);
    expect(summary.achievedRate).toBeLessThan(60);
    expect(await recordsIn(topic)).toBe(100);
    expect((await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions).toHaveLength(2);
  });

  it('a missing topic without --partitions: exit 1 saying how to create it, nothing created', async () => {
    const topic = `kd-loadgen-${randomUUID().slice(0, 8)}`;
    const { code, stderr } = await runToolsCli(['loadgen', '--topic', topic, '--duration', '1'], env());
    expect(code).toBe(1);
    expect(stderr).toContain(`topic "${topic}" does not exist; pass --partitions N`);
    expect(await admin.listTopics()).not.toContain(topic);
  });

  it('SIGINT stops the load early and still prints the summary; every acked message is in the topic', async () => {
    const { topic } = await createTopic(1, 'kd-loadgen');
    const cli = startToolsCli(['loadgen', '--topic', topic, '--rate', '100', '--duration', '60', '--json'], env());
    await waitFor(() => cli.stderr().includes('loadgen: constant'), 'the load to start');
    await new Promise((r) => setTimeout(r, 1500));
    cli.child.kill('SIGINT');
    const code = await cli.exited;
    expect(code, cli.stderr()).toBe(130);
    const summary = summaryOf(cli.stdout());
    expect(summary.interrupted).toBe(true);
    expect(summary.target).toBe(6000);
    expect(summary.sent).toBeGreaterThan(0);
    expect(summary.sent).toBeLessThan(6000);
    expect(summary.failed).toBe(0);
    expect(await recordsIn(topic)).toBe(summary.sent);
  });
});

// The article's producer speaks SASL and TLS with a CA certificate: a broker of its own with a
// SASL listener and a TLS listener (the shared test broker speaks PLAINTEXT only).
const OWN_PORT = Number(process.env.KD_TEST_LOADGEN_BROKER_PORT ?? 29692);
const SASL_PORT = OWN_PORT + 2;
const TLS_PORT = OWN_PORT + 3;

describe('loadgen over SASL and TLS', () => {
  const pki = makeTestPki();
  const keystore = join(pki.dir, 'broker-keystore.pem');
  writeFileSync(keystore, pki.serverKey + pki.serverCert);
  const caFile = join(pki.dir, 'ca.pem');
  const own = useOwnBroker('loadgen', {
    port: OWN_PORT,
    sasl: { port: SASL_PORT, users: { alice: 'alice-secret' } },
    tls: { port: TLS_PORT, keystoreFile: keystore },
  });

  async function countOnOwn(topic: string): Promise<number> {
    const ownAdmin = new Kafka({ brokers: [own.broker.brokers], logLevel: logLevel.NOTHING }).admin();
    await ownAdmin.connect();
    try {
      const offsets = await ownAdmin.fetchTopicOffsets(topic);
      return offsets.reduce((sum, p) => sum + Number(p.high), 0);
    } finally {
      await ownAdmin.disconnect();
    }
  }

  it('SASL SCRAM-SHA-512 with the password from KAFKA_SASL_PASSWORD: creates the topic and lands every record', async () => {
    const topic = `kd-loadgen-sasl-${randomUUID().slice(0, 8)}`;
    const args = ['loadgen', '--topic', topic, '--partitions', '2', '--concurrency', '20', '--duration', '1', '--json'];
    const sasl = ['--sasl-mechanism', 'scram-sha-512', '--sasl-username', 'alice'];
    const { code, stdout, stderr } = await runToolsCli([...args, ...sasl, '--brokers', `127.0.0.1:${SASL_PORT}`], {
      KAFKA_SASL_PASSWORD: 'alice-secret',
    });
    expect(code, stderr).toBe(0);
    expect(summaryOf(stdout)).toMatchObject({ target: 20, sent: 20, failed: 0 });
    expect(await countOnOwn(topic)).toBe(20);
  });

  it('a wrong SASL password: exit 1 with the authentication failure, nothing sent', async () => {
    const topic = `kd-loadgen-sasl-${randomUUID().slice(0, 8)}`;
    const { code, stderr } = await runToolsCli(
      ['loadgen', '--topic', topic, '--partitions', '1', '--duration', '1', '--sasl-mechanism', 'plain', '--sasl-username', 'alice'],
      { KAFKA_BROKERS: `127.0.0.1:${SASL_PORT}`, KAFKA_SASL_PASSWORD: 'wrong' },
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/authentication failed/i);
    expect(stderr).not.toContain('wrong');
  });

  it('TLS trusting the CA given with --tls-ca', async () => {
    const topic = `kd-loadgen-tls-${randomUUID().slice(0, 8)}`;
    const { code, stdout, stderr } = await runToolsCli(
      ['loadgen', '--topic', topic, '--partitions', '1', '--rate', '30', '--duration', '1', '--json', '--tls-ca', caFile],
      { KAFKA_BROKERS: `127.0.0.1:${TLS_PORT}` },
    );
    expect(code, stderr).toBe(0);
    expect(summaryOf(stdout)).toMatchObject({ target: 30, sent: 30, failed: 0 });
    expect(await countOnOwn(topic)).toBe(30);
  });
});
