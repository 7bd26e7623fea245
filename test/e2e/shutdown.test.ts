import { afterAll, describe, expect, it } from 'vitest';
import { brokers, createTopic, disconnectKafka, produce } from '../helpers/kafka.js';
import { startRecordingSink } from '../helpers/recording-sink.js';
import { startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait-for.js';

afterAll(() => disconnectKafka());

const RECORDS = 3000;
const COMMIT_INTERVAL_MS = 500;
const MAX_IN_FLIGHT = 32;

function dispatcherEnv(topic: string, group: string, sinkUrl: string): Record<string, string> {
  return {
    KAFKA_BROKERS: brokers().join(','),
    KAFKA_TOPICS: topic,
    KAFKA_GROUP: group,
    KAFKA_INITIAL_OFFSET: 'earliest',
    K_SINK: sinkUrl,
    ORDERING: 'key',
    MAX_IN_FLIGHT: String(MAX_IN_FLIGHT),
    COMMIT_INTERVAL: String(COMMIT_INTERVAL_MS / 1000),
    RETRY_COUNT: '3',
    RETRY_INTERVAL: '0.05',
    METRICS_PORT: '0',
    // The killed member's partitions move after the session timeout; the broker's minimum is 6 s.
    KAFKA_SESSION_TIMEOUT: '6',
    // Small buffers, so that a third of the way in most records are still in Kafka, not in memory.
    MAX_BUFFERED_RECORDS: '200',
    FETCH_MAX_BYTES_PER_PARTITION: '8192',
    LOG_LEVEL: 'warn',
  };
}

async function loadedRun(signal: NodeJS.Signals) {
  const { topic, group } = await createTopic(3, `kd-${signal.toLowerCase()}`);
  const sink = await startRecordingSink(() => ({ delayMs: 2 + Math.floor(Math.random() * 6) }));
  await produce(
    topic,
    Array.from({ length: RECORDS }, (_, i) => ({ key: `k${i % 50}`, value: `r${i}` })),
  );
  const first = startCli(['run'], dispatcherEnv(topic, group, sink.url));
  await waitFor(() => sink.requests.length >= RECORDS / 3, 'a third of the load', 60_000);
  first.child.kill(signal);
  const code = await first.exited;
  const beforeRestart = sink.requests.length;
  const second = startCli(['run'], dispatcherEnv(topic, group, sink.url));
  const distinct = () => new Set(sink.requests.map((r) => r.body)).size;
  await waitFor(() => distinct() === RECORDS, 'every record after the restart', 90_000);
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
  await sink.close();
  return { code, beforeRestart, requests: sink.requests, stderr: first.stderr() + first.stdout() };
}

// SIGKILL under load, in each ordering mode, is in the fault suite: test/e2e/faults/sigkill.test.ts.
describe('shutdown under load (the CLI as a process, real broker)', () => {
  it('SIGTERM drains in-flight requests, commits and exits 0: after a restart nothing is lost and nothing repeated', async () => {
    const run = await loadedRun('SIGTERM');
    expect(run.code, run.stderr).toBe(0);
    expect(run.beforeRestart).toBeLessThan(RECORDS);
    const bodies = run.requests.map((r) => r.body);
    expect(new Set(bodies).size).toBe(RECORDS);
    expect(bodies.length - RECORDS).toBe(0);
  }, 180_000);
});
