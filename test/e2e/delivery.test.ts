import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createTopic, disconnectKafka, produce } from '../helpers/kafka.js';
import { startRecordingSink, type RecordingSink } from '../helpers/recording-sink.js';
import { startTestDispatcher, type TestDispatcher } from '../helpers/dispatcher.js';
import { waitFor, sleep } from '../helpers/wait-for.js';

let sink: RecordingSink | undefined;
let dispatcher: TestDispatcher | undefined;

afterEach(async () => {
  await dispatcher?.stop(5000);
  await sink?.close();
  dispatcher = undefined;
  sink = undefined;
});
afterAll(() => disconnectKafka());

describe('dispatch to the sink (real broker, real HTTP sink)', () => {
  it('POSTs every record once, with its value as the body, the Host header set, and order kept per partition', async () => {
    const { topic, group } = await createTopic(3);
    sink = await startRecordingSink(() => ({ delayMs: Math.floor(Math.random() * 5) }));
    const perPartition = 40;
    const messages = [];
    for (let seq = 0; seq < perPartition; seq++) {
      for (let partition = 0; partition < 3; partition++) {
        messages.push({ partition, key: `k${seq % 7}`, value: JSON.stringify({ partition, seq }) });
      }
    }
    await produce(topic, messages);
    dispatcher = await startTestDispatcher({
      topics: [topic],
      groupId: group,
      sinkUri: `${sink.url}/predict?query=music`,
      sinkHost: 'test-ai-process.default.svc.cluster.local',
    });
    await waitFor(() => sink!.requests.length >= messages.length, `${messages.length} requests`);
    await sleep(300); // nothing more should arrive
    expect(sink.requests).toHaveLength(messages.length);
    for (const request of sink.requests) {
      expect(request.method).toBe('POST');
      expect(request.url).toBe('/predict?query=music');
      expect(request.headers.host).toBe('test-ai-process.default.svc.cluster.local');
    }
    const bodies = sink.requests.map((r) => JSON.parse(r.body) as { partition: number; seq: number });
    expect(new Set(sink.requests.map((r) => r.body)).size).toBe(messages.length);
    for (let partition = 0; partition < 3; partition++) {
      const seqs = bodies.filter((b) => b.partition === partition).map((b) => b.seq);
      expect(seqs).toEqual([...Array(perPartition).keys()]);
    }
    // Ordered mode: the three partitions run side by side, never two requests of one partition.
    expect(sink.maxInFlight).toBeLessThanOrEqual(3);
  });

  it('retries a sink that fails twice: exactly 3 attempts, spaced at least the retry interval', async () => {
    const { topic, group } = await createTopic(1);
    sink = await startRecordingSink((r) => (r.n <= 2 ? { status: 503 } : {}));
    await produce(topic, [{ value: 'hello' }]);
    dispatcher = await startTestDispatcher({
      topics: [topic],
      groupId: group,
      sinkUri: sink.url,
      retry: 5,
      backoffPolicy: 'fixed',
      backoffDelayMs: 300,
    });
    await waitFor(() => dispatcher!.metrics.totals.delivered === 1, 'delivery');
    await sleep(500);
    expect(sink.requests).toHaveLength(3);
    const [a, b, c] = sink.requests.map((r) => r.receivedAt) as [number, number, number];
    expect(b - a).toBeGreaterThanOrEqual(295);
    expect(c - b).toBeGreaterThanOrEqual(295);
    expect(dispatcher.metrics.totals).toMatchObject({ delivered: 1, skipped: 0, attempts: 3 });
  });

  it('gives up on a sink that always fails after retry-count + 1 attempts, logs and counts it, and moves on', async () => {
    const { topic, group } = await createTopic(1);
    sink = await startRecordingSink((r) => (r.body === 'poison' ? { status: 500, body: 'model crashed' } : {}));
    await produce(topic, [{ value: 'poison' }, { value: 'next' }]);
    dispatcher = await startTestDispatcher({ topics: [topic], groupId: group, sinkUri: sink.url, retry: 3, backoffDelayMs: 20 });
    await waitFor(() => dispatcher!.metrics.totals.delivered === 1, 'the record after the failing one');
    expect(sink.requests.filter((r) => r.body === 'poison')).toHaveLength(4);
    expect(dispatcher.metrics.totals).toMatchObject({ delivered: 1, skipped: 1 });
    const metrics = await dispatcher.metrics.registry.getSingleMetricAsString('kafka_dispatch_records_finished_total');
    expect(metrics).toContain(`outcome="skipped",status_class="5xx",sink="default"} 1`);
    const giveUp = dispatcher.logs().find((l) => l.msg.startsWith('record given up'));
    expect(giveUp).toMatchObject({ topic, partition: 0, offset: 0, attempts: 4, status: 500, level: 'error' });
  });

  it('aborts an attempt slower than the request timeout and retries it', async () => {
    const { topic, group } = await createTopic(1);
    sink = await startRecordingSink((r) => (r.n === 1 ? { delayMs: 1500 } : {}));
    await produce(topic, [{ value: 'slow' }]);
    dispatcher = await startTestDispatcher({
      topics: [topic],
      groupId: group,
      sinkUri: sink.url,
      requestTimeoutMs: 300,
      retry: 2,
      backoffDelayMs: 10,
    });
    await waitFor(() => dispatcher!.metrics.totals.delivered === 1, 'delivery on the second attempt');
    expect(sink.requests).toHaveLength(2);
    expect(sink.requests[1]!.receivedAt - sink.requests[0]!.receivedAt).toBeLessThan(1500);
    await waitFor(() => sink!.aborted.length === 1, 'the sink to see the first request abandoned', 3000);
  });

  it('commits what it delivered: a restarted dispatcher delivers nothing twice', async () => {
    const { topic, group } = await createTopic(2);
    sink = await startRecordingSink();
    await produce(
      topic,
      Array.from({ length: 30 }, (_, i) => ({ value: `first-${i}` })),
    );
    dispatcher = await startTestDispatcher({ topics: [topic], groupId: group, sinkUri: sink.url });
    await waitFor(() => sink!.requests.length === 30, '30 deliveries');
    await dispatcher.stop(5000);
    await produce(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ value: `second-${i}` })),
    );
    dispatcher = await startTestDispatcher({ topics: [topic], groupId: group, sinkUri: sink.url });
    await waitFor(() => sink!.requests.length >= 40, '10 more deliveries');
    await sleep(500);
    const bodies = sink.requests.map((r) => r.body);
    expect(bodies).toHaveLength(40);
    expect(new Set(bodies).size).toBe(40);
  });
});
