import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll } from 'vitest';
import { LocalBroker, type LocalBrokerOptions } from '../../tools/broker/local-broker.js';
import { startRecordingSink, type RecordingSink } from './recording-sink.js';

/**
 * A broker of the test file's own (extra listeners the shared one lacks), started before its tests
 * with a recording sink, and stopped after them if the file started it.
 */
export function useOwnBroker(name: string, options: LocalBrokerOptions & { port: number }) {
  const broker = new LocalBroker({ controllerPort: options.port + 1, stateDir: mkdtempSync(join(tmpdir(), `kd-${name}-`)), ...options });
  const own = { broker, sink: undefined as unknown as RecordingSink, topicWith };
  let startedByUs = false;

  beforeAll(async () => {
    startedByUs = (await broker.start()).startedByUs;
    own.sink = await startRecordingSink();
  }, 120_000);
  afterAll(async () => {
    await own.sink?.close();
    if (startedByUs) await broker.stop();
  });

  /** A fresh topic on the plaintext listener holding one record with this value. */
  async function topicWith(value: string): Promise<string> {
    const topic = `${name}-${Math.random().toString(36).slice(2, 8)}`;
    const kafka = new Kafka({ brokers: [broker.brokers], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const producer = kafka.producer();
    await Promise.all([admin.connect(), producer.connect()]);
    await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
    await producer.send({ topic, messages: [{ value }] });
    await Promise.all([admin.disconnect(), producer.disconnect()]);
    return topic;
  }

  return own;
}
