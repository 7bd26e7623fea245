import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { brokers, createTopic, produce } from '../helpers/kafka.js';
import { startTestDispatcher } from '../helpers/dispatcher.js';
import { useTestResources } from '../helpers/resources.js';
import { waitFor, sleep } from '../helpers/wait-for.js';

const res = useTestResources();

async function readTopic(topic: string, count: number) {
  const kafka = new Kafka({ clientId: 'kd-test-reader', brokers: brokers(), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const messages: Array<{ key: string | null; value: string; headers: Record<string, string> }> = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      messages.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? '', headers });
    },
  });
  try {
    await waitFor(() => messages.length >= count, `${count} messages on ${topic}`);
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

describe('failures: dead letters, skip vs block, Retry-After, record age, replies', () => {
  it('sends exactly the failed records to the dead-letter sink, with knativeerrordest, code and data', async () => {
    const { topic, group } = await createTopic(1);
    const sink = await res.sink((r) => {
      if (r.body.startsWith('bad')) return { status: 400, body: `rejected ${r.body}` };
      if (r.body.startsWith('down')) return { status: 503, body: 'x'.repeat(2000) };
      return {};
    });
    const deadLetter = await res.sink();
    const bodies = ['ok-1', 'bad-1', 'ok-2', 'down-1', 'ok-3', 'bad-2'];
    await produce(
      topic,
      bodies.map((value) => ({ value })),
    );
    res.dispatcher = await startTestDispatcher({
      topics: [topic],
      groupId: group,
      sinkUri: `${sink.url}/predict`,
      deadLetterSinkUri: `${deadLetter.url}/dlq`,
      retry: 2,
      backoffDelayMs: 10,
    });
    await waitFor(
      () => res.dispatcher!.metrics.totals.delivered + res.dispatcher!.metrics.totals.deadLettered === bodies.length,
      'every record finished',
    );
    expect(deadLetter.requests.map((r) => r.body)).toEqual(['bad-1', 'down-1', 'bad-2']);
    expect(sink.requests.filter((r) => r.body === 'bad-1')).toHaveLength(1); // 400 is final: no retry
    expect(sink.requests.filter((r) => r.body === 'down-1')).toHaveLength(3); // 503: 1 + 2 retries
    const [bad1, down1] = deadLetter.requests;
    expect(bad1!.url).toBe('/dlq');
    expect(bad1!.headers).toMatchObject({
      'ce-knativeerrordest': `${sink.url}/predict`,
      'ce-knativeerrorcode': '400',
      'ce-knativeerrordata': Buffer.from('rejected bad-1').toString('base64'),
      'ce-type': 'dev.knative.kafka.event',
      'ce-id': 'partition:0/offset:1',
    });
    expect(Buffer.from(String(down1!.headers['ce-knativeerrordata']), 'base64').toString()).toBe('x'.repeat(1024));
    expect(res.dispatcher!.metrics.totals).toMatchObject({ delivered: 3, deadLettered: 3, skipped: 0 });
  });

  it('produces failed records to the dead-letter topic with the original key, value and error headers', async () => {
    const { topic, group } = await createTopic(1);
    const { topic: dlt } = await createTopic(1, 'kd-dlt');
    const sink = await res.sink((r) => (r.body === 'poison' ? { status: 422, body: 'no' } : {}));
    await produce(topic, [
      { key: 'k1', value: 'fine' },
      { key: 'k2', value: 'poison', headers: { trace: 'abc' } },
    ]);
    res.dispatcher = await startTestDispatcher({ topics: [topic], groupId: group, sinkUri: sink.url, deadLetterTopic: dlt });
    const [message] = await readTopic(dlt, 1);
    await waitFor(() => res.dispatcher!.metrics.totals.deadLettered === 1, 'the dead-lettered outcome');
    expect(message).toMatchObject({ key: 'k2', value: 'poison' });
    expect(message!.headers).toMatchObject({
      trace: 'abc',
      'kd-error-code': '422',
      'kd-original-topic': topic,
      'kd-original-partition': '0',
      'kd-original-offset': '1',
    });
    expect(res.dispatcher!.metrics.totals).toMatchObject({ delivered: 1, deadLettered: 1 });
  });

  it('a dead-letter topic deleted under a running dispatcher costs each failed record a few seconds at most, then it is skipped and counted', async () => {
    const { topic, group } = await createTopic(1);
    const { topic: dlt } = await createTopic(1, 'kd-dlt-gone');
    const sink = await res.sink((r) => (r.body.startsWith('poison') ? { status: 422 } : {}));
    res.dispatcher = await startTestDispatcher({ topics: [topic], groupId: group, sinkUri: sink.url, deadLetterTopic: dlt });
    await waitFor(() => res.dispatcher!.isReady(), 'ready');
    const kafka = new Kafka({ brokers: brokers(), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [dlt] });
    await admin.disconnect();
    await produce(topic, [{ value: 'poison-1' }, { value: 'fine' }]);
    await waitFor(() => sink.requests.some((r) => r.body === 'poison-1'), 'the poison record at the sink');
    const failedAt = performance.now();
    await waitFor(() => sink.requests.some((r) => r.body === 'fine'), 'the next record of the partition', 30_000);
    // kafkajs's default producer retries for ~30 s; the dead-letter producer's are short.
    expect(performance.now() - failedAt).toBeLessThan(8000);
    expect(res.dispatcher!.metrics.totals).toMatchObject({ skipped: 1, delivered: 1 });
    expect(res.dispatcher!.logs().some((l) => l.msg.includes('dead letter') || l.msg.includes('dead-letter'))).toBe(true);
  }, 45_000);

  it('skip (default) moves past a failing record; block holds the partition until the sink takes it, in order', async () => {
    const { topic, group } = await createTopic(1);
    let healthy = false;
    const sink = await res.sink((r) => (r.body === 'stuck' && !healthy ? { status: 400 } : {}));
    await produce(topic, [{ value: 'before' }, { value: 'stuck' }, { value: 'after-1' }, { value: 'after-2' }]);
    res.dispatcher = await startTestDispatcher({
      topics: [topic],
      groupId: group,
      sinkUri: sink.url,
      failurePolicy: 'block',
      retry: 1,
      backoffDelayMs: 20,
      maxBackoffMs: 100,
    });
    await waitFor(() => sink.requests.filter((r) => r.body === 'stuck').length >= 5, 'several blocked retries');
    expect(sink.requests.map((r) => r.body)).not.toContain('after-1');
    const blocked = await res.dispatcher!.metrics.registry.getSingleMetricAsString('kafka_dispatch_blocked_retries_total');
    expect(blocked).toMatch(new RegExp(`topic="${topic}"} [1-9]`));
    expect(res.dispatcher!.logs().some((l) => l.msg.startsWith('partition blocked') && l.offset === 1)).toBe(true);
    healthy = true;
    await waitFor(() => res.dispatcher!.metrics.totals.delivered === 4, 'the partition to move on');
    // The record that finally went through came before the ones behind it.
    expect(sink.requests.slice(-3).map((r) => r.body)).toEqual(['stuck', 'after-1', 'after-2']);
    expect(res.dispatcher!.metrics.totals).toMatchObject({ delivered: 4, skipped: 0 });
  });

  it('skip counts and logs a record no one took, and commits past it', async () => {
    const { topic, group } = await createTopic(1);
    const sink = await res.sink((r) => (r.body === 'stuck' ? { status: 400 } : {}));
    await produce(topic, [{ value: 'stuck' }, { value: 'after' }]);
    res.dispatcher = await startTestDispatcher({ topics: [topic], groupId: group, sinkUri: sink.url, failurePolicy: 'skip' });
    await waitFor(() => res.dispatcher!.metrics.totals.delivered === 1, 'the next record delivered');
    expect(sink.requests.map((r) => r.body)).toEqual(['stuck', 'after']);
    expect(res.dispatcher!.metrics.totals).toMatchObject({ delivered: 1, skipped: 1 });
    expect(res.dispatcher!.logs().find((l) => l.msg.startsWith('record given up'))).toMatchObject({
      topic,
      partition: 0,
      offset: 0,
      status: 400,
    });
  });

  it('honours Retry-After when it asks for more than the backoff', async () => {
    const { topic, group } = await createTopic(1);
    const sink = await res.sink((r) => (r.n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : {}));
    await produce(topic, [{ value: 'busy' }]);
    res.dispatcher = await startTestDispatcher({ topics: [topic], groupId: group, sinkUri: sink.url, retry: 3, backoffDelayMs: 10 });
    await waitFor(() => res.dispatcher!.metrics.totals.delivered === 1, 'delivery after Retry-After');
    expect(sink.requests).toHaveLength(2);
    expect(sink.requests[1]!.receivedAt - sink.requests[0]!.receivedAt).toBeGreaterThanOrEqual(990);
  });

  it('dead-letters a record older than max-record-age instead of retrying it', async () => {
    const { topic, group } = await createTopic(1);
    const sink = await res.sink(() => ({ status: 503 }));
    const deadLetter = await res.sink();
    await produce(topic, [{ value: 'old', timestamp: String(Date.now() - 60_000) }]);
    res.dispatcher = await startTestDispatcher({
      topics: [topic],
      groupId: group,
      sinkUri: sink.url,
      deadLetterSinkUri: deadLetter.url,
      retry: 5,
      backoffDelayMs: 10,
      maxRecordAgeMs: 30_000,
    });
    await waitFor(() => deadLetter.requests.length === 1, 'the dead letter');
    expect(sink.requests).toHaveLength(1);
    expect(deadLetter.requests[0]!.headers['ce-knativeerrorcode']).toBe('503');
  });

  it('discards a record that cannot become a request, without retrying or stalling the partition', async () => {
    const { topic, group } = await createTopic(1);
    const sink = await res.sink();
    await produce(topic, [{ value: '{not json', headers: { 'content-type': 'application/cloudevents+json' } }, { value: 'plain' }]);
    res.dispatcher = await startTestDispatcher({ topics: [topic], groupId: group, sinkUri: sink.url });
    await waitFor(() => res.dispatcher!.metrics.totals.delivered === 1, 'the next record delivered');
    expect(sink.requests.map((r) => r.body)).toEqual(['plain']);
    expect(res.dispatcher!.metrics.totals).toMatchObject({ delivered: 1, discarded: 1 });
    expect(res.dispatcher!.logs().find((l) => l.msg.startsWith('record discarded'))).toMatchObject({ topic, partition: 0, offset: 0 });
  });

  it('produces each 2xx response body to the reply topic, keyed like the input', async () => {
    const { topic, group } = await createTopic(1);
    const { topic: replies } = await createTopic(1, 'kd-reply');
    const sink = await res.sink((r) => ({ body: r.body === 'music' ? 'PlayMusic' : 'GetWeather' }));
    await produce(topic, [
      { key: 'a', value: 'music' },
      { key: 'b', value: 'rain' },
    ]);
    res.dispatcher = await startTestDispatcher({ topics: [topic], groupId: group, sinkUri: sink.url, replyTopic: replies });
    const messages = await readTopic(replies, 2);
    expect(messages.map((m) => [m.key, m.value])).toEqual([
      ['a', 'PlayMusic'],
      ['b', 'GetWeather'],
    ]);
    expect(messages[0]!.headers['kd-original-offset']).toBe('0');
  });

  it('keeps the fetched backlog bounded while the sink hangs, however large the lag', async () => {
    const { topic, group } = await createTopic(2);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const sink = await res.sink(async () => {
      await gate;
      return {};
    });
    const total = 20_000;
    await produce(
      topic,
      Array.from({ length: total }, (_, i) => ({ partition: i % 2, value: `record-${i}-${'x'.repeat(80)}` })),
    );
    res.dispatcher = await startTestDispatcher({
      topics: [topic],
      groupId: group,
      sinkUri: sink.url,
      ordering: 'unordered',
      // The worst case for memory: all 32 slots hang, the rest of the lag waits in the buffer.
      concurrencyLimit: 'fixed',
      maxInFlight: 32,
      maxInFlightPerPartition: 16,
      maxBufferedRecords: 500,
      fetchMaxBytesPerPartition: 64 * 1024,
      requestTimeoutMs: 60_000,
    });
    await waitFor(() => sink.requests.length >= 32, 'the sink to fill up');
    await sleep(1500);
    const inFlight = res.dispatcher!.metrics.totals.received - res.dispatcher!.metrics.totals.delivered;
    const buffered = res.dispatcher!.buffered();
    await sleep(1000);
    // Fetching paused: nothing more was taken while the sink hung.
    expect(res.dispatcher!.buffered()).toBe(buffered);
    expect(buffered).toBeLessThan(total / 4);
    expect(inFlight).toBeLessThanOrEqual(32);
    release();
    await waitFor(() => res.dispatcher!.metrics.totals.delivered === total, 'all records after the sink recovers', 60_000);
  });
});
