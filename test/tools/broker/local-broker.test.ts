import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { LocalBroker, processAlive } from '../../../tools/broker/local-broker.js';
import { isPortOpen, probeKafkaPort, waitForKafka } from '../../../tools/broker/wait.js';
import { EnvironmentError } from '../../../src/errors.js';

// Its own broker, apart from the one the global setup shares (KD_TEST_BROKER_PORT, 29092).
const PORT = Number(process.env.KD_TEST_OWN_BROKER_PORT ?? 29192);

describe('LocalBroker environment checks', () => {
  it('says what to install when java is missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'kd-nopath-'));
    try {
      const broker = new LocalBroker({ cacheDir: empty, port: PORT, env: { PATH: empty } });
      const error = await broker.ensureInstalled().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(EnvironmentError);
      expect((error as EnvironmentError).code).toBe('KD_JAVA_MISSING');
      expect((error as Error).message).toMatch(/apt-get install openjdk-17-jre-headless maven/);
      expect((error as Error).message).toMatch(/docker compose up kafka/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('says what to install when maven is missing and the jars are not cached', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'kd-nopath-'));
    try {
      // java given by absolute path, mvn looked up in the empty PATH
      const java = execFileSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).trim();
      const withJava = new LocalBroker({ cacheDir: empty, port: PORT, env: { PATH: empty }, javaCommand: java });
      const error = await withJava.ensureInstalled().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((error as EnvironmentError).code).toBe('KD_MAVEN_MISSING');
      expect((error as Error).message).toMatch(/maven/i);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('probes a closed port as closed', async () => {
    expect(await probeKafkaPort('127.0.0.1', 1)).toBe('closed');
    await expect(waitForKafka('127.0.0.1:1', 1000, { intervalMs: 100 })).rejects.toMatchObject({ code: 'KD_KAFKA_UNAVAILABLE' });
  });
});

// Needs Java 17+ (and Maven once, for the jars); without them it fails with the install hint.
describe('LocalBroker (real Kafka, no Docker)', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'kd-broker-'));
  const broker = new LocalBroker({ port: PORT, controllerPort: PORT + 1, stateDir });

  afterAll(async () => {
    await broker.stop().catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  it('starts, is idempotent, carries a message, and stops', async () => {
    // Two starts at once (think parallel test workers): exactly one spawns a broker.
    const twin = new LocalBroker({ port: PORT, controllerPort: PORT + 1, stateDir });
    const both = await Promise.all([broker.start(), twin.start()]);
    expect(both.map((r) => r.startedByUs).sort()).toEqual([false, true]);
    const first = both[0]!;
    expect(first.brokers).toBe(`127.0.0.1:${PORT}`);
    const status = broker.status();
    expect(status.running).toBe(true);
    expect(status.pid).toBeGreaterThan(1);
    expect(status.dataDir).toBe(join(stateDir, 'data'));
    expect(await probeKafkaPort('127.0.0.1', PORT)).toBe('kafka');

    const second = await broker.start();
    expect(second).toEqual({ brokers: `127.0.0.1:${PORT}`, startedByUs: false });
    expect(broker.status().pid).toBe(status.pid);

    const kafka = new Kafka({ clientId: 'kd-broker-test', brokers: [first.brokers], logLevel: logLevel.NOTHING });
    const topic = `kd-broker-test-${Date.now()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'k', value: 'hello local kafka' }] });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `${topic}-group` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message within 60 s')), 60_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          clearTimeout(timer);
          resolve(message.value?.toString() ?? '');
        },
      });
    });
    await consumer.disconnect();
    expect(received).toBe('hello local kafka');

    const stopped = await broker.stop();
    expect(stopped).toEqual({ stopped: true, pid: status.pid });
    expect(processAlive(status.pid!)).toBe(false);
    expect(broker.status().running).toBe(false);
    expect(await isPortOpen('127.0.0.1', PORT)).toBe(false);
    expect(await broker.stop()).toEqual({ stopped: false });
  }, 240_000);
});
