import { freePort } from '../helpers/ports.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { brokers, createTopic, produce } from '../helpers/kafka.js';
import { startTestDispatcher } from '../helpers/dispatcher.js';
import { useTestResources } from '../helpers/resources.js';
import { runCli, startCli } from '../helpers/cli.js';
import { waitFor, sleep } from '../helpers/wait-for.js';

const res = useTestResources();

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await request(`http://127.0.0.1:${port}${path}`);
  return { status: response.statusCode, body: await response.body.text() };
}

async function metric(port: number, line: RegExp): Promise<number | undefined> {
  const { body } = await get(port, '/metrics');
  const match = body.split('\n').find((l) => line.test(l));
  return match === undefined ? undefined : Number(match.split(' ').pop());
}

describe('observability endpoints (real broker)', () => {
  it('/readyz goes starting → ready → draining while /healthz stays up', async () => {
    const { topic, group } = await createTopic(1);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const sink = await res.sink(async (r) => {
      if (r.body === 'slow') await gate;
      return {};
    });
    const port = await freePort();
    const seen: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const ready = await get(port, '/readyz').catch(() => undefined);
        if (ready) {
          const state = ready.status === 200 ? 'ready' : ready.body.startsWith('draining') ? 'draining' : 'starting';
          if (seen[seen.length - 1] !== state) seen.push(state);
        }
        await sleep(5);
      }
    })();
    res.dispatcher = await startTestDispatcher({ topics: [topic], groupId: group, sinkUri: sink.url }, { metricsServerPort: port });
    await waitFor(() => seen.includes('ready'), '/readyz 200');
    expect((await get(port, '/healthz')).status).toBe(200);
    await produce(topic, [{ value: 'slow' }]);
    await waitFor(() => sink.requests.length === 1, 'the slow request');
    const stopping = res.dispatcher!.stop(10_000);
    await waitFor(() => seen.includes('draining'), '/readyz 503 draining');
    expect((await get(port, '/healthz')).status).toBe(200);
    release();
    await stopping;
    polling = false;
    await poller;
    expect(seen).toEqual(['starting', 'ready', 'draining']);
  });

  it('lag in seconds grows while the sink is down and returns to 0 after; lag in records follows', async () => {
    const { topic, group } = await createTopic(1);
    let down = true;
    const sink = await res.sink(() => (down ? { status: 503 } : {}));
    const port = await freePort();
    res.dispatcher = await startTestDispatcher(
      {
        topics: [topic],
        groupId: group,
        sinkUri: sink.url,
        failurePolicy: 'block',
        retry: 1000,
        backoffDelayMs: 50,
        lagIntervalMs: 200,
        commitIntervalMs: 200,
      },
      { metricsServerPort: port },
    );
    await waitFor(() => res.dispatcher!.isReady(), 'ready');
    await produce(topic, [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    const seconds = new RegExp(`^kafka_dispatch_consumer_lag_seconds\\{group="${group}",topic="${topic}",partition="0"\\}`);
    const records = new RegExp(`^kafka_dispatch_consumer_lag\\{group="${group}",topic="${topic}",partition="0"\\}`);
    await waitFor(async () => ((await metric(port, seconds)) ?? 0) > 0.3, 'lag seconds above 0.3');
    const first = (await metric(port, seconds))!;
    await sleep(800);
    const second = (await metric(port, seconds))!;
    expect(second).toBeGreaterThan(first);
    await waitFor(async () => (await metric(port, records)) === 3, 'lag of 3 records');
    down = false;
    await waitFor(async () => (await metric(port, seconds)) === 0 && (await metric(port, records)) === 0, 'lag back to 0', 15_000);
    expect(await metric(port, /^kafka_dispatch_consumer_connected /)).toBe(1);
    expect(await metric(port, new RegExp(`^kafka_dispatch_committed_offset\\{topic="${topic}",partition="0"\\}`))).toBe(3);
  });

  it('never shows secrets: validate output and logs of a failing start', async () => {
    const password = 'S3cr3t-Pa55word-xyz';
    const dir = mkdtempSync(join(tmpdir(), 'kd-secrets-'));
    const manifest = join(dir, 'source.yaml');
    writeFileSync(
      manifest,
      `apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata: { name: secure, namespace: prod }
spec:
  bootstrapServers: [${brokers()[0]}]
  topics: [secure]
  net:
    sasl:
      enable: true
      user: { secretKeyRef: { name: kafka-creds, key: user } }
      password: { secretKeyRef: { name: kafka-creds, key: password } }
      type: { secretKeyRef: { name: kafka-creds, key: mechanism } }
  sink: { uri: "http://user:${password}@127.0.0.1:9/predict?token=${password}" }
`,
    );
    const env = {
      KAFKA_CREDS_USER: 'dispatcher',
      KAFKA_CREDS_PASSWORD: password,
      KAFKA_CREDS_MECHANISM: 'PLAIN',
      SECRETS_DIR: join(dir, 'none'),
    };
    const validate = await runCli(['validate', '--kafkasource', manifest], env);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toContain('KAFKA_SASL_PASSWORD');
    expect(validate.stdout).toContain('[redacted]');
    expect(validate.stdout + validate.stderr).not.toContain(password);
    const json = await runCli(['validate', '--kafkasource', manifest, '--json'], env);
    expect(json.stdout).not.toContain(password);
    // The broker speaks PLAINTEXT, so SASL fails: the logs of that failure must not carry the password.
    const run = startCli(['run', '--kafkasource', manifest], { ...env, LOG_LEVEL: 'debug', METRICS_PORT: '0' });
    const timer = setTimeout(() => run.child.kill('SIGKILL'), 20_000);
    await waitFor(() => /SASL/.test(run.stdout()), 'the SASL failure in the logs', 20_000);
    run.child.kill('SIGTERM');
    await run.exited;
    clearTimeout(timer);
    expect(run.stdout() + run.stderr()).not.toContain(password);
  });
});
