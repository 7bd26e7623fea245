import { afterAll, describe, expect, it } from 'vitest';
import { brokers, committedOffsets, createTopic, disconnectKafka, produce } from '../helpers/kafka.js';
import { startRecordingSink, type Reply } from '../helpers/recording-sink.js';
import { runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait-for.js';

afterAll(() => disconnectKafka());

/** The `msg` of every JSON log line. */
function messages(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => (JSON.parse(line) as { msg: string }).msg);
}

function env(topic: string, sinkUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    KAFKA_BROKERS: brokers().join(','),
    KAFKA_TOPICS: topic,
    KAFKA_GROUP: `${topic}-group`,
    KAFKA_INITIAL_OFFSET: 'earliest',
    K_SINK: sinkUrl,
    METRICS_PORT: '0',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

describe('a start that cannot succeed exits 1 at once, naming what is missing', () => {
  it('a topic that does not exist: exit 1 with its name, no hang', async () => {
    const sink = await startRecordingSink();
    const missing = `kd-missing-${Math.random().toString(36).slice(2, 8)}`;
    try {
      const { code, stdout } = await runCli(['run'], env(missing, sink.url), 30_000);
      expect(code, stdout).toBe(1);
      expect(messages(stdout)).toContainEqual(expect.stringContaining(`topic "${missing}" (TOPICS) does not exist`));
      expect(stdout).not.toMatch(/\bat .+\.js:\d+/);
    } finally {
      await sink.close();
    }
  }, 40_000);

  it('a dead-letter topic that does not exist: exit 1 naming DEAD_LETTER_TOPIC, before any record is consumed', async () => {
    const { topic, group } = await createTopic(1, 'kd-dlt-missing');
    await produce(topic, [{ value: 'never consumed' }]);
    const sink = await startRecordingSink();
    try {
      const { code, stdout } = await runCli(['run'], env(topic, sink.url, { DEAD_LETTER_TOPIC: `${topic}-dlq` }), 30_000);
      expect(code, stdout).toBe(1);
      expect(messages(stdout)).toContainEqual(expect.stringContaining(`topic "${topic}-dlq" (DEAD_LETTER_TOPIC) does not exist`));
      expect(sink.requests).toHaveLength(0);
      expect((await committedOffsets(group, topic)).get(0)).toBe(-1);
    } finally {
      await sink.close();
    }
  }, 40_000);
});

describe('SHUTDOWN_GRACE bounds the stop', () => {
  it('with a sink that never answers (600 s request timeout), SIGTERM ends within the grace: the hung records stay uncommitted, the finished ones are committed', async () => {
    const GRACE_S = 2;
    const { topic, group } = await createTopic(1, 'kd-grace');
    // Offsets 0-4 are answered, 5-9 hang for good.
    await produce(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ value: i < 5 ? `ok-${i}` : `hang-${i}` })),
    );
    const sink = await startRecordingSink((r) => (r.body.startsWith('hang') ? new Promise<Reply>(() => {}) : {}));
    const cli = startCli(['run'], env(topic, sink.url, { ORDERING: 'unordered', SHUTDOWN_GRACE: String(GRACE_S), COMMIT_INTERVAL: '60' }));
    try {
      await waitFor(() => sink.requests.length === 10, 'every record at the sink, five of them hanging', 30_000);
      const signalledAt = performance.now();
      cli.child.kill('SIGTERM');
      const code = await cli.exited;
      const stopMs = performance.now() - signalledAt;
      expect(code, cli.stdout()).toBe(0);
      // The grace, plus the process's own exit: far below the 600 s the requests would take.
      expect(stopMs).toBeLessThan(GRACE_S * 1000 + 1500);
      expect((await committedOffsets(group, topic)).get(0)).toBe(5);
      const stopped = cli
        .stdout()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { msg: string; drained?: boolean; unfinished?: number })
        .find((line) => line.msg === 'dispatcher stopped');
      expect(stopped).toMatchObject({ drained: false, unfinished: 5 });
    } finally {
      cli.child.kill('SIGKILL');
      await sink.close();
    }
  }, 60_000);
});
