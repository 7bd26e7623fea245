import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { brokers, committedOffsets, createTopic, disconnectKafka, produce } from '../helpers/kafka.js';
import { startRecordingSink } from '../helpers/recording-sink.js';
import { runCli, startCli, ROOT } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait-for.js';

const ARTICLE_MANIFEST = join(ROOT, 'test/fixtures/kafkasource.yaml');

afterAll(() => disconnectKafka());

describe("kafka-dispatch run / validate with the article's KafkaSource", () => {
  it('validate accepts the manifest unchanged and prints it resolved with the ASK annotations applied', async () => {
    const { code, stdout, stderr } = await runCli(['validate', '--kafkasource', ARTICLE_MANIFEST, '--json']);
    // The seed KafkaSource leads to ordered: validate says what that caps.
    expect(stderr).toBe(
      'note: ordered: at most one request in flight per partition, so a Knative sink scales to at most ⌈partitions ÷ (0.7 × containerConcurrency)⌉ pods (9 for 12 partitions and containerConcurrency 2); ORDERING=key (order per key) or unordered lets it scale\n',
    );
    expect(code).toBe(0);
    const { settings, origins } = JSON.parse(stdout) as { settings: Record<string, unknown>; origins: Record<string, string> };
    expect(settings).toMatchObject({
      brokers: [
        'alikafka-pre-cn-xxx-1-vpc.alikafka.aliyuncs.com:9092',
        'alikafka-pre-cn-7pp2kmoc7002-2-vpc.alikafka.aliyuncs.com:9092',
        'alikafka-pre-cn-xx-3-vpc.alikafka.aliyuncs.com:9092',
      ],
      topics: ['ai-info'],
      groupId: 'ai-info-consumer',
      sinkUri: 'http://120.26.143.xx/predict?query=music',
      sinkHost: 'test-ai-process.default.svc.cluster.local',
      requestTimeoutMs: 60_000,
      retry: 5,
      backoffPolicy: 'fixed',
      backoffDelayMs: 2000,
    });
    expect(origins.retry).toBe('metadata.annotations["k8s.aliyun.com/retry-count"]');
  });

  it('rejects a broken manifest with exit code 2 and names every bad field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-manifest-'));
    const file = join(dir, 'broken.yaml');
    writeFileSync(
      file,
      `apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata:
  name: broken
  annotations:
    k8s.aliyun.com/req-timeout: "soon"
    k8s.aliyun.com/retry-count: "-1"
spec:
  topics: ai-info
  initialOffset: newest
  delivery:
    backoffDelay: 2s
  sink:
    uri: http://sink/
`,
    );
    for (const command of ['validate', 'run']) {
      const { code, stderr } = await runCli([command, '--kafkasource', file]);
      expect(code).toBe(2);
      expect(stderr).toContain('spec.bootstrapServers');
      expect(stderr).toContain('spec.initialOffset');
      expect(stderr).toContain('spec.delivery.backoffDelay');
    }
    const annotations = file.replace('broken', 'annotations');
    writeFileSync(
      annotations,
      `apiVersion: sources.knative.dev/v1alpha1
kind: KafkaSource
metadata:
  annotations:
    k8s.aliyun.com/req-timeout: "soon"
    k8s.aliyun.com/retry-count: "-1"
spec:
  bootstrapServers: localhost:9092
  topics: ai-info
  sink:
    uri: http://sink/
`,
    );
    const { code, stderr } = await runCli(['validate', '--kafkasource', annotations], { RETRY_COUNT: 'many' });
    expect(code).toBe(2);
    expect(stderr).toContain('metadata.annotations["k8s.aliyun.com/req-timeout"]');
    expect(stderr).toContain('metadata.annotations["k8s.aliyun.com/retry-count"]');
    expect(stderr).toContain('env.RETRY_COUNT');
  });

  it('without a sink or brokers, says which settings are missing and how to set them (exit 2)', async () => {
    const { code, stderr } = await runCli(['run']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/brokers: is required: set KAFKA_BROKERS/);
    expect(stderr).toMatch(/topics: is required/);
    expect(stderr).toMatch(/sinkUri: is required: set K_SINK or SINK_URI/);
  });

  it("runs the article's manifest against a local broker and sink (K_SINK, KAFKA_BROKERS override), drains and exits 0 on SIGTERM", async () => {
    // The manifest names topic ai-info and group ai-info-consumer; the test owns a fresh topic, so it
    // overrides the topic and group too, as a user running it twice would.
    const { topic, group } = await createTopic(12);
    const sink = await startRecordingSink(() => ({ body: 'PlayMusic' }));
    try {
      await produce(
        topic,
        Array.from({ length: 20 }, (_, i) => ({ key: String(i), value: `{"id":${i}}` })),
      );
      const cli = startCli(
        [
          'run',
          '--kafkasource',
          ARTICLE_MANIFEST,
          '--topics',
          topic,
          '--group',
          group,
          '--initial-offset',
          'earliest',
          '--commit-interval',
          '0.2',
        ],
        {
          KAFKA_BROKERS: brokers().join(','),
          K_SINK: `${sink.url}/predict?query=music`,
          METRICS_PORT: '0',
        },
      );
      await waitFor(() => sink.requests.length >= 20, '20 deliveries through the CLI');
      for (const request of sink.requests) {
        expect(request.headers.host).toBe('test-ai-process.default.svc.cluster.local');
        expect(request.url).toBe('/predict?query=music');
      }
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
      const committed = await committedOffsets(group, topic);
      // A partition that got none of the 20 has nothing committed (-1).
      expect([...committed.values()].reduce((a, b) => a + Math.max(0, b), 0)).toBe(20);
      expect(cli.stdout()).toContain('dispatcher stopped');
      // The seed leads to ordered: the start says what 12 partitions cap a Knative sink at.
      expect(cli.stdout()).toContain(
        'ordered: at most 12 requests in flight (12 partitions), so a sink with containerConcurrency 2 and target utilisation 0.7 scales to at most 9 pods',
      );
    } finally {
      await sink.close();
    }
  });
});
