import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULTS } from '../../src/config/options.js';
import { encodeCloudEvent, type CloudEventContext } from '../../src/dispatch/cloudevents.js';
import { encodeRaw } from '../../src/dispatch/encode.js';
import type { AttemptFailure, AttemptReport, BlockedRound, DispatchListener, DispatchResult } from '../../src/dispatch/outcome.js';
import {
  BLOCK_MIN_DELAY_MS,
  RecordDispatcher,
  type RecordDispatcherOptions,
  type RecordProducer,
} from '../../src/dispatch/record-dispatcher.js';
import { DispatchError, RecordFormatError, SinkResponseError, SinkTransportError } from '../../src/errors.js';
import type { KafkaRecord } from '../../src/source/record.js';
import { FakeSender, type Script } from '../helpers/fake-sender.js';

const NOW = Date.UTC(2024, 0, 15, 12, 0, 0); // a whole second: HTTP dates have second resolution
const SINK = 'http://sink.example/events';
const DLS = 'http://dead-letter.example/dls';
const CONTEXT: CloudEventContext = { namespace: 'ns', name: 'my-source', keyType: 'string', extensions: {} };
const encodeCe = (r: KafkaRecord) => encodeCloudEvent(r, CONTEXT);

function makeRecord(overrides: Partial<KafkaRecord> = {}): KafkaRecord {
  return {
    topic: 'orders',
    partition: 3,
    offset: 42,
    key: Buffer.from('key-1'),
    value: Buffer.from('{"hello":"world"}'),
    headers: { 'content-type': 'application/json', trace: 'abc' },
    timestamp: NOW - 1000,
    ...overrides,
  };
}

/** Every listener call, in order. */
class RecordingListener implements Required<DispatchListener> {
  readonly received: KafkaRecord[] = [];
  readonly failed: AttemptFailure[] = [];
  readonly blocked: BlockedRound[] = [];
  readonly deadLetterFailed: DispatchError[] = [];
  readonly replyFailed: DispatchError[] = [];
  readonly finished: DispatchResult[] = [];
  readonly attempts: AttemptReport[] = [];
  onReceived(record: KafkaRecord): void {
    this.received.push(record);
  }
  onAttempt(_record: KafkaRecord, report: AttemptReport): void {
    this.attempts.push(report);
  }
  onAttemptFailed(_record: KafkaRecord, failure: AttemptFailure): void {
    this.failed.push(failure);
  }
  onBlocked(_record: KafkaRecord, round: BlockedRound): void {
    this.blocked.push(round);
  }
  onDeadLetterFailed(_record: KafkaRecord, error: DispatchError): void {
    this.deadLetterFailed.push(error);
  }
  onReplyFailed(_record: KafkaRecord, error: DispatchError): void {
    this.replyFailed.push(error);
  }
  onFinished(_record: KafkaRecord, result: DispatchResult): void {
    this.finished.push(result);
  }
}

interface Produced {
  topic: string;
  message: Parameters<RecordProducer['send']>[1];
}

class FakeProducer implements RecordProducer {
  readonly sent: Produced[] = [];
  /** Topics whose sends reject. */
  readonly failing = new Set<string>();
  async send(topic: string, message: Produced['message']): Promise<void> {
    if (this.failing.has(topic)) throw new Error(`broker refused ${topic}`);
    this.sent.push({ topic, message });
  }
  to(topic: string): Produced[] {
    return this.sent.filter((p) => p.topic === topic);
  }
}

interface Harness {
  dispatcher: RecordDispatcher;
  sender: FakeSender;
  listener: RecordingListener;
  producer: FakeProducer;
}

interface SetupOptions extends Partial<RecordDispatcherOptions> {
  /** Script of the dead-letter sink (configured only when given). */
  dls?: Script[];
  /** Name of a dead-letter topic (configured only when given). */
  dlt?: string;
  /** Pass the harness producer to the dispatcher. */
  withProducer?: boolean;
}

function setup(sink: Script[], options: SetupOptions = {}): Harness {
  const { dls, dlt, withProducer, ...rest } = options;
  const sender = new FakeSender(sink, dls ? { [DLS]: dls } : {});
  const listener = new RecordingListener();
  const producer = new FakeProducer();
  const deadLetters = {
    ...(dls ? { sink: { uri: DLS, encode: encodeCe } } : {}),
    ...(dlt ? { topic: { name: dlt } } : {}),
  };
  const dispatcher = new RecordDispatcher({
    sender,
    encode: encodeCe,
    sinkUri: SINK,
    retry: 2,
    backoffPolicy: 'fixed',
    backoffDelayMs: 10,
    listener,
    now: () => Date.now(),
    ...(dls || dlt ? { deadLetters } : {}),
    ...(withProducer ? { producer } : {}),
    ...rest,
  });
  return { dispatcher, sender, listener, producer };
}

/** Dispatches with fake timers running to completion. */
async function run(h: Harness, record: KafkaRecord = makeRecord()): Promise<DispatchResult | undefined> {
  const promise = h.dispatcher.dispatch(record);
  await vi.runAllTimersAsync();
  return promise;
}

/** Waits between consecutive calls. */
function gaps(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]!);
}

function expectFinishedOnce(h: Harness, result: DispatchResult | undefined): DispatchResult {
  expect(h.listener.received).toHaveLength(1);
  expect(h.listener.finished).toHaveLength(1);
  expect(result).toBeDefined();
  expect(h.listener.finished[0]).toBe(result);
  return result!;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(NOW);
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

const SUCCESS = [200, 201, 202, 204, 299];
const RETRIED = [500, 501, 502, 503, 504, 599, 404, 408, 409, 429];
const FINAL = [300, 301, 302, 304, 400, 401, 403, 405, 410, 413, 415, 422];

describe('RecordDispatcher: status → attempts / outcome (retry 2, no dead letter, skip)', () => {
  const table: Array<[label: string, script: Script, outcome: DispatchResult['outcome'], attempts: number, status: number | undefined]> = [
    ...SUCCESS.map((s): [string, Script, DispatchResult['outcome'], number, number] => [`${s}`, s, 'delivered', 1, s]),
    ...RETRIED.map((s): [string, Script, DispatchResult['outcome'], number, number] => [`${s}`, s, 'skipped', 3, s]),
    ...FINAL.map((s): [string, Script, DispatchResult['outcome'], number, number] => [`${s}`, s, 'skipped', 1, s]),
    ['transport error', 'transport', 'skipped', 3, undefined],
    ['timeout', 'timeout', 'skipped', 3, undefined],
  ];

  it.each(table)('%s (script %s) → %s after %i attempt(s)', async (_label, script, outcome, attempts, status) => {
    const h = setup([script]);
    const result = expectFinishedOnce(h, await run(h));
    expect(result.outcome).toBe(outcome);
    expect(result.attempts).toBe(attempts);
    expect(result.status).toBe(status);
    expect(h.sender.sinkCalls).toHaveLength(attempts);
    expect(h.sender.calls.every((c) => c.target === undefined)).toBe(true);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    if (outcome === 'delivered') expect(result.error).toBeUndefined();
    else expect(result.error).toBeInstanceOf(DispatchError);
  });

  it('the default failure policy is skip', async () => {
    const h = setup([500], { retry: 0 });
    expect((await run(h))?.outcome).toBe('skipped');
  });

  it('transport errors and timeouts carry their codes', async () => {
    const transport = setup(['transport'], { retry: 0 });
    expect((await run(transport))?.error).toMatchObject({ code: 'KD_SINK_TRANSPORT' });
    const timeout = setup(['timeout'], { retry: 0 });
    const result = await run(timeout);
    expect(result?.error).toBeInstanceOf(SinkTransportError);
    expect(result?.error).toMatchObject({ code: 'KD_SINK_TIMEOUT', timedOut: true });
  });

  it('a failing status is a SinkResponseError with the status and body', async () => {
    const h = setup([{ status: 422, body: 'bad field' }]);
    const result = await run(h);
    expect(result?.error).toBeInstanceOf(SinkResponseError);
    const error = result!.error as SinkResponseError;
    expect(error.status).toBe(422);
    expect(error.body.toString()).toBe('bad field');
    expect(error.retriable).toBe(false);
  });

  it('recovers after retriable failures: 500, transport, 429, 200 → delivered after 4 attempts', async () => {
    const h = setup([500, 'transport', 429, 200], { retry: 5 });
    const result = expectFinishedOnce(h, await run(h));
    expect(result).toMatchObject({ outcome: 'delivered', attempts: 4, status: 200 });
    expect(result.error).toBeUndefined();
    expect(h.listener.failed.map((f) => f.attempt)).toEqual([1, 2, 3]);
    expect(h.listener.failed.every((f) => f.nextDelayMs !== undefined)).toBe(true);
  });

  it('retry 0: a retriable failure is tried once', async () => {
    const h = setup([503], { retry: 0 });
    const result = await run(h);
    expect(result).toMatchObject({ outcome: 'skipped', attempts: 1, status: 503 });
  });

  it('sends the encoded request unchanged on every attempt', async () => {
    const h = setup([500, 500, 200]);
    const record = makeRecord();
    await run(h, record);
    const expected = encodeCe(record);
    for (const call of h.sender.sinkCalls) {
      expect(call.request.headers).toEqual(expected.headers);
      expect(call.request.body).toEqual(record.value);
    }
    expect(h.sender.sinkCalls[0]!.request.headers['ce-id']).toBe('partition:3/offset:42');
  });

  it("no tracer (the default): nothing is added to the request, not even the record's traceparent", async () => {
    const h = setup([200], { encode: encodeRaw });
    await run(h, makeRecord({ headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } }));
    expect(h.sender.sinkCalls[0]!.request.headers).toEqual({ 'content-type': 'application/octet-stream' });
  });

  it('a null record value is sent as a null body', async () => {
    const h = setup([200], { encode: encodeRaw });
    await run(h, makeRecord({ value: null }));
    expect(h.sender.sinkCalls[0]!.request.body).toBeNull();
  });
});

describe('RecordDispatcher: status → attempts with a dead-letter sink', () => {
  const table: Array<[status: number, attempts: number]> = [
    ...RETRIED.map((s): [number, number] => [s, 4]),
    ...FINAL.map((s): [number, number] => [s, 1]),
  ];

  it.each(table)('%i → dead-lettered after %i attempt(s)', async (status, attempts) => {
    const h = setup([status], { retry: 3, dls: [202] });
    const result = expectFinishedOnce(h, await run(h));
    expect(result).toMatchObject({ outcome: 'dead-lettered', attempts, status });
    expect(h.sender.sinkCalls).toHaveLength(attempts);
    expect(h.sender.callsTo(DLS)).toHaveLength(1);
    expect(h.sender.callsTo(DLS)[0]!.request.headers['ce-knativeerrorcode']).toBe(String(status));
  });

  it.each(SUCCESS)('%i → delivered, the dead letter is not called', async (status) => {
    const h = setup([status], { dls: [202] });
    expect((await run(h))?.outcome).toBe('delivered');
    expect(h.sender.callsTo(DLS)).toHaveLength(0);
  });
});

describe('RecordDispatcher: listener calls', () => {
  it('retries exhausted: onAttemptFailed per attempt, nextDelayMs undefined on the last only', async () => {
    const h = setup([500, 502, 503], { retry: 2 });
    const result = expectFinishedOnce(h, await run(h));
    expect(h.listener.failed.map((f) => f.attempt)).toEqual([1, 2, 3]);
    expect(h.listener.failed.map((f) => f.nextDelayMs)).toEqual([10, 10, undefined]);
    expect(h.listener.failed.map((f) => (f.error as SinkResponseError).status)).toEqual([500, 502, 503]);
    expect(result).toMatchObject({ outcome: 'skipped', attempts: 3, status: 503 });
  });

  it('success at once: no onAttemptFailed', async () => {
    const h = setup([200]);
    expectFinishedOnce(h, await run(h));
    expect(h.listener.failed).toHaveLength(0);
  });

  // The spec: onAttemptFailed is called for every failed attempt, with nextDelayMs undefined on the
  // last. A final status is a failed attempt (and the last one).
  it.each([400, 403, 410, 301])('a final status %i is reported once to onAttemptFailed with nextDelayMs undefined', async (status) => {
    const h = setup([status], { retry: 3 });
    const result = expectFinishedOnce(h, await run(h));
    expect(result.attempts).toBe(1);
    expect(h.listener.failed).toHaveLength(1);
    expect(h.listener.failed[0]).toMatchObject({ attempt: 1, nextDelayMs: undefined });
    expect((h.listener.failed[0]!.error as SinkResponseError).status).toBe(status);
  });

  it('a final status after retriable ones: onAttemptFailed for each attempt, last without delay', async () => {
    const h = setup([500, 400], { retry: 3 });
    const result = expectFinishedOnce(h, await run(h));
    expect(result).toMatchObject({ outcome: 'skipped', attempts: 2, status: 400 });
    expect(h.listener.failed.map((f) => f.attempt)).toEqual([1, 2]);
    expect(h.listener.failed.map((f) => f.nextDelayMs)).toEqual([10, undefined]);
  });

  it('onReceived comes before the first attempt and onFinished after the last', async () => {
    const order: string[] = [];
    const sender = new FakeSender([500, 200]);
    const original = sender.send.bind(sender);
    sender.send = async (request, target) => {
      order.push('send');
      return original(request, target);
    };
    const dispatcher = new RecordDispatcher({
      sender,
      encode: encodeCe,
      sinkUri: SINK,
      retry: 1,
      backoffPolicy: 'fixed',
      backoffDelayMs: 5,
      listener: {
        onReceived: () => order.push('received'),
        onAttemptFailed: () => order.push('failed'),
        onFinished: () => order.push('finished'),
      },
    });
    const promise = dispatcher.dispatch(makeRecord());
    await vi.runAllTimersAsync();
    await promise;
    expect(order).toEqual(['received', 'send', 'failed', 'send', 'finished']);
  });
});

describe('RecordDispatcher: backoff waits (exact, fake timers)', () => {
  const table: Array<[policy: RecordDispatcherOptions['backoffPolicy'], base: number, retry: number, waits: number[]]> = [
    ['exponential', 100, 4, [200, 400, 800, 1600]],
    ['exponential', 300, 3, [600, 1200, 2400]],
    ['linear', 100, 4, [100, 200, 300, 400]],
    ['linear', 250, 2, [250, 500]],
    ['fixed', 100, 3, [100, 100, 100]],
    ['fixed', 0, 2, [0, 0]],
  ];

  it.each(table)('%s, delay %i ms, retry %i → waits %j', async (backoffPolicy, backoffDelayMs, retry, waits) => {
    const h = setup([503], { backoffPolicy, backoffDelayMs, retry });
    const result = await run(h);
    expect(result).toMatchObject({ outcome: 'skipped', attempts: retry + 1 });
    expect(gaps(h.sender.sinkCalls.map((c) => c.at))).toEqual(waits);
    expect(h.listener.failed.map((f) => f.nextDelayMs)).toEqual([...waits, undefined]);
  });

  it('does not retry before the wait is over', async () => {
    const h = setup([500, 500, 200], { backoffPolicy: 'exponential', backoffDelayMs: 100, retry: 2 });
    const promise = h.dispatcher.dispatch(makeRecord());
    await vi.advanceTimersByTimeAsync(0);
    expect(h.sender.sinkCalls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(199);
    expect(h.sender.sinkCalls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.sender.sinkCalls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(399);
    expect(h.sender.sinkCalls).toHaveLength(2);
    expect(h.listener.finished).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.sender.sinkCalls).toHaveLength(3);
    expect(await promise).toMatchObject({ outcome: 'delivered', attempts: 3, status: 200 });
  });

  it('transport errors back off like statuses', async () => {
    const h = setup(['transport', 'timeout', 200], { backoffPolicy: 'linear', backoffDelayMs: 50, retry: 2 });
    expect(await run(h)).toMatchObject({ outcome: 'delivered', attempts: 3 });
    expect(gaps(h.sender.sinkCalls.map((c) => c.at))).toEqual([50, 100]);
  });
});

describe('RecordDispatcher: Retry-After', () => {
  const ra = (status: number, value: string): Script => ({ status, headers: { 'retry-after': value } });

  const table: Array<[label: string, options: Partial<RecordDispatcherOptions>, first: Script, wait: number]> = [
    ['seconds, longer than the backoff', { backoffPolicy: 'fixed', backoffDelayMs: 100 }, ra(503, '2'), 2000],
    ['seconds on 429', { backoffPolicy: 'fixed', backoffDelayMs: 100 }, ra(429, '3'), 3000],
    ['seconds, shorter than the backoff: backoff wins', { backoffPolicy: 'exponential', backoffDelayMs: 1000 }, ra(503, '1'), 2000],
    ['zero seconds: backoff', { backoffPolicy: 'fixed', backoffDelayMs: 100 }, ra(503, '0'), 100],
    ['capped by maxRetryAfterMs', { backoffPolicy: 'fixed', backoffDelayMs: 100, maxRetryAfterMs: 3000 }, ra(503, '60'), 3000],
    ['cap below the backoff: backoff wins', { backoffPolicy: 'fixed', backoffDelayMs: 500, maxRetryAfterMs: 200 }, ra(503, '60'), 500],
    ['HTTP date 5 s ahead', { backoffPolicy: 'fixed', backoffDelayMs: 100 }, ra(503, new Date(NOW + 5000).toUTCString()), 5000],
    ['HTTP date in the past: backoff', { backoffPolicy: 'fixed', backoffDelayMs: 100 }, ra(503, new Date(NOW - 5000).toUTCString()), 100],
    [
      'HTTP date capped',
      { backoffPolicy: 'fixed', backoffDelayMs: 100, maxRetryAfterMs: 1500 },
      ra(503, new Date(NOW + 5000).toUTCString()),
      1500,
    ],
    ['unreadable: backoff', { backoffPolicy: 'fixed', backoffDelayMs: 100 }, ra(503, 'soon'), 100],
    [
      'array header: first value',
      { backoffPolicy: 'fixed', backoffDelayMs: 100 },
      { status: 503, headers: { 'retry-after': ['4', '9'] } },
      4000,
    ],
  ];

  it.each(table)('%s → waits %#', async (_label, options, first, wait) => {
    const h = setup([first, 200], { retry: 1, ...options });
    expect(await run(h)).toMatchObject({ outcome: 'delivered', attempts: 2 });
    expect(gaps(h.sender.sinkCalls.map((c) => c.at))).toEqual([wait]);
    expect(h.listener.failed[0]!.nextDelayMs).toBe(wait);
  });

  it('the HTTP date is read against the injected clock', async () => {
    const h = setup([ra(503, new Date(NOW + 7000).toUTCString()), 200], { retry: 1, now: () => NOW + 3000 });
    await run(h);
    expect(h.listener.failed[0]!.nextDelayMs).toBe(4000);
  });

  it('Retry-After on a final status does not make it retried', async () => {
    const h = setup([ra(400, '1'), 200], { retry: 3 });
    expect(await run(h)).toMatchObject({ outcome: 'skipped', attempts: 1, status: 400 });
  });

  it('Retry-After applies per attempt: each wait is the larger of backoff and Retry-After', async () => {
    const h = setup([ra(503, '1'), 503, ra(429, '5'), 200], { retry: 3, backoffPolicy: 'exponential', backoffDelayMs: 300 });
    await run(h);
    // retry 1: max(600, 1000); retry 2: 1200; retry 3: max(2400, 5000)
    expect(gaps(h.sender.sinkCalls.map((c) => c.at))).toEqual([1000, 1200, 5000]);
  });
});

describe('RecordDispatcher: jitter', () => {
  const table: Array<[random: number, jitter: number, base: number, wait: number]> = [
    [0.5, 0.5, 1000, 1000],
    [0, 0.5, 1000, 500],
    [0.999999, 0.5, 1000, 1500],
    [0, 0.2, 1000, 800],
    [0.75, 0.2, 1000, 1100],
  ];

  it.each(table)('random %d, jitter %d, fixed %i ms → %i ms', async (random, retryJitter, backoffDelayMs, wait) => {
    vi.spyOn(Math, 'random').mockReturnValue(random);
    const h = setup([500, 200], { retry: 1, retryJitter, backoffDelayMs });
    await run(h);
    expect(h.listener.failed[0]!.nextDelayMs).toBe(wait);
    expect(gaps(h.sender.sinkCalls.map((c) => c.at))).toEqual([wait]);
  });

  it('jitter 0 (the default) never calls Math.random', async () => {
    const random = vi.spyOn(Math, 'random');
    const h = setup([500, 500, 200], { retry: 2, backoffPolicy: 'linear', backoffDelayMs: 100 });
    await run(h);
    expect(gaps(h.sender.sinkCalls.map((c) => c.at))).toEqual([100, 200]);
    expect(random).not.toHaveBeenCalled();
  });

  it('waits stay within [d × (1 − j), d × (1 + j)] with real randomness', async () => {
    const h = setup([500], { retry: 8, retryJitter: 0.3, backoffPolicy: 'fixed', backoffDelayMs: 1000 });
    await run(h);
    for (const wait of gaps(h.sender.sinkCalls.map((c) => c.at))) {
      expect(wait).toBeGreaterThanOrEqual(700);
      expect(wait).toBeLessThanOrEqual(1300);
    }
  });
});

describe('RecordDispatcher: dead-letter sink', () => {
  it('gets the event plus knativeerrordest, knativeerrorcode and knativeerrordata, sent to its uri', async () => {
    const h = setup(
      [
        { status: 503, body: 'first' },
        { status: 500, body: 'overloaded' },
      ],
      { retry: 1, dls: [202] },
    );
    const record = makeRecord();
    const result = expectFinishedOnce(h, await run(h, record));
    expect(result).toMatchObject({ outcome: 'dead-lettered', attempts: 2, status: 500 });
    expect(result.error).toBeInstanceOf(SinkResponseError);
    const [dead, ...more] = h.sender.callsTo(DLS);
    expect(more).toHaveLength(0);
    expect(dead!.target).toBe(DLS);
    const event = encodeCe(record);
    expect(dead!.request.headers).toEqual({
      ...event.headers,
      'ce-knativeerrordest': SINK,
      'ce-knativeerrorcode': '500',
      'ce-knativeerrordata': Buffer.from('overloaded').toString('base64'),
    });
    expect(dead!.request.body).toEqual(record.value);
    // The dead letter comes after the last sink attempt.
    expect(dead!.index).toBe(3);
  });

  it('uses the dead letter encode, not the sink encode', async () => {
    const h = setup([400], {
      dls: [200],
      encode: encodeRaw,
      deadLetters: {
        sink: {
          uri: DLS,
          encode: (r) => ({ headers: { 'ce-id': 'dl', 'content-type': 'text/plain' }, body: Buffer.from(`dl:${r.offset}`) }),
        },
      },
    });
    expect((await run(h))?.outcome).toBe('dead-lettered');
    const dead = h.sender.callsTo(DLS)[0]!;
    expect(dead.request.headers).toEqual({
      'ce-id': 'dl',
      'content-type': 'text/plain',
      'ce-knativeerrordest': SINK,
      'ce-knativeerrorcode': '400',
    });
    expect(dead.request.body?.toString()).toBe('dl:42');
    expect(h.sender.sinkCalls[0]!.request.headers).toEqual({ 'content-type': 'application/json' });
  });

  it('knativeerrordata is base64 of at most 1024 bytes of the last body', async () => {
    const body = Buffer.alloc(2000);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    const h = setup([{ status: 500, body }], { retry: 0, dls: [200] });
    await run(h);
    const data = h.sender.callsTo(DLS)[0]!.request.headers['ce-knativeerrordata']!;
    expect(data).toBe(body.subarray(0, 1024).toString('base64'));
    expect(Buffer.from(data, 'base64')).toHaveLength(1024);
  });

  it('a body of exactly 1024 bytes is sent whole', async () => {
    const body = Buffer.alloc(1024, 'x');
    const h = setup([{ status: 500, body }], { retry: 0, dls: [200] });
    await run(h);
    expect(h.sender.callsTo(DLS)[0]!.request.headers['ce-knativeerrordata']).toBe(body.toString('base64'));
  });

  it('empty last body → no knativeerrordata (even when an earlier body was not empty)', async () => {
    const h = setup([{ status: 500, body: 'earlier' }, 500], { retry: 1, dls: [200] });
    await run(h);
    const headers = h.sender.callsTo(DLS)[0]!.request.headers;
    expect(headers['ce-knativeerrorcode']).toBe('500');
    expect(headers).not.toHaveProperty('ce-knativeerrordata');
  });

  it('no HTTP answer on the last attempt → no knativeerrorcode nor knativeerrordata', async () => {
    const h = setup([{ status: 500, body: 'earlier' }, 'timeout'], { retry: 1, dls: [200] });
    const result = await run(h);
    expect(result).toMatchObject({ outcome: 'dead-lettered', attempts: 2, status: undefined });
    const headers = h.sender.callsTo(DLS)[0]!.request.headers;
    expect(headers['ce-knativeerrordest']).toBe(SINK);
    expect(headers).not.toHaveProperty('ce-knativeerrorcode');
    expect(headers).not.toHaveProperty('ce-knativeerrordata');
  });

  it('a final status goes to the dead letter at once, with its code and body', async () => {
    const h = setup([{ status: 403, body: 'forbidden' }], { retry: 5, dls: [200] });
    const result = await run(h);
    expect(result).toMatchObject({ outcome: 'dead-lettered', attempts: 1, status: 403 });
    const headers = h.sender.callsTo(DLS)[0]!.request.headers;
    expect(headers['ce-knativeerrorcode']).toBe('403');
    expect(Buffer.from(headers['ce-knativeerrordata']!, 'base64').toString()).toBe('forbidden');
  });

  it('a dead letter that fails with a retriable status is retried, then the record is skipped', async () => {
    const h = setup([500], { retry: 2, dls: [503] });
    const result = expectFinishedOnce(h, await run(h));
    expect(result).toMatchObject({ outcome: 'skipped', attempts: 3, status: 500 });
    expect(h.sender.callsTo(DLS)).toHaveLength(3);
    expect(h.listener.deadLetterFailed).toHaveLength(1);
  });

  it('a dead letter that recovers on retry takes the record', async () => {
    const h = setup([500], { retry: 2, dls: ['transport', 200] });
    expect(await run(h)).toMatchObject({ outcome: 'dead-lettered', attempts: 3 });
    expect(h.sender.callsTo(DLS)).toHaveLength(2);
    expect(h.listener.deadLetterFailed).toHaveLength(0);
  });

  it('a dead letter answering a final status is not retried', async () => {
    const h = setup([500], { retry: 2, dls: [400, 200] });
    expect(await run(h)).toMatchObject({ outcome: 'skipped' });
    expect(h.sender.callsTo(DLS)).toHaveLength(1);
    expect(h.listener.deadLetterFailed).toHaveLength(1);
  });

  it('a dead-letter 2xx body is not produced to the reply topic', async () => {
    const h = setup([400], { dls: [{ status: 200, body: 'dl reply' }], replyTopic: 'replies', withProducer: true });
    expect((await run(h))?.outcome).toBe('dead-lettered');
    expect(h.producer.sent).toHaveLength(0);
  });
});

describe('RecordDispatcher: dead-letter topic', () => {
  function withTopic(sink: Script[], options: SetupOptions & { noProducer?: boolean } = {}): Harness {
    const { noProducer, ...rest } = options;
    return setup(sink, { dlt: 'orders-dlq', withProducer: !noProducer, ...rest });
  }

  it('gets the original key, value and headers plus kd-error-* and kd-original-* headers', async () => {
    const h = withTopic([{ status: 503, body: 'down for maintenance' }], { retry: 1 });
    const record = makeRecord({ headers: { 'content-type': 'application/json', trace: 'abc', multi: ['first', Buffer.from('last')] } });
    const result = expectFinishedOnce(h, await run(h, record));
    expect(result).toMatchObject({ outcome: 'dead-lettered', attempts: 2, status: 503 });
    const sent = h.producer.to('orders-dlq');
    expect(sent).toHaveLength(1);
    const { message } = sent[0]!;
    expect(message.key).toEqual(record.key);
    expect(message.value).toEqual(record.value);
    expect(message.headers).toMatchObject({
      'content-type': 'application/json',
      trace: 'abc',
      multi: Buffer.from('last'),
      'kd-error-dest': SINK,
      'kd-error-code': '503',
      'kd-error-data': Buffer.from('down for maintenance').toString('base64'),
      'kd-error-code-name': 'KD_SINK_STATUS',
      'kd-original-topic': 'orders',
      'kd-original-partition': '3',
      'kd-original-offset': '42',
    });
    expect(typeof message.headers['kd-error-reason']).toBe('string');
    expect(h.sender.calls.every((c) => c.target === undefined)).toBe(true);
  });

  it('no HTTP answer → no kd-error-code nor kd-error-data', async () => {
    const h = withTopic(['transport'], { retry: 0 });
    await run(h);
    const headers = h.producer.to('orders-dlq')[0]!.message.headers;
    expect(headers).not.toHaveProperty('kd-error-code');
    expect(headers).not.toHaveProperty('kd-error-data');
    expect(headers['kd-error-code-name']).toBe('KD_SINK_TRANSPORT');
  });

  it('kd-error-data is capped at 1024 bytes', async () => {
    const body = Buffer.alloc(3000, 'y');
    const h = withTopic([{ status: 400, body }]);
    await run(h);
    expect(h.producer.to('orders-dlq')[0]!.message.headers['kd-error-data']).toBe(body.subarray(0, 1024).toString('base64'));
  });

  it('is not used when the dead-letter sink takes the record', async () => {
    const h = withTopic([400], { dls: [200] });
    expect(await run(h)).toMatchObject({ outcome: 'dead-lettered' });
    expect(h.sender.callsTo(DLS)).toHaveLength(1);
    expect(h.producer.sent).toHaveLength(0);
  });

  it('is used when the dead-letter sink fails', async () => {
    const h = withTopic([400], { retry: 1, dls: [500] });
    const result = expectFinishedOnce(h, await run(h));
    expect(result).toMatchObject({ outcome: 'dead-lettered', attempts: 1, status: 400 });
    expect(h.sender.callsTo(DLS)).toHaveLength(2);
    expect(h.producer.to('orders-dlq')).toHaveLength(1);
    expect(h.listener.deadLetterFailed).toHaveLength(1);
  });

  it('both dead letters failing → skipped, two onDeadLetterFailed', async () => {
    const h = withTopic([400], { retry: 0, dls: [500] });
    h.producer.failing.add('orders-dlq');
    const result = expectFinishedOnce(h, await run(h));
    expect(result).toMatchObject({ outcome: 'skipped', attempts: 1, status: 400 });
    expect(h.listener.deadLetterFailed.map((e) => e.code)).toEqual(['KD_SINK_STATUS', 'KD_DEAD_LETTER_TOPIC']);
  });

  it('a topic without a producer is not a dead letter', async () => {
    const h = withTopic([400], { noProducer: true });
    expect(await run(h)).toMatchObject({ outcome: 'skipped' });
  });
});

describe('RecordDispatcher: maxRecordAgeMs', () => {
  it('a record older than the limit is not retried: dead letter after the first attempt', async () => {
    const h = setup([500], { retry: 5, maxRecordAgeMs: 5000, dls: [200] });
    const result = expectFinishedOnce(h, await run(h, makeRecord({ timestamp: NOW - 10_000 })));
    expect(result).toMatchObject({ outcome: 'dead-lettered', attempts: 1, status: 500 });
    expect(h.sender.sinkCalls).toHaveLength(1);
    expect(h.listener.failed).toHaveLength(1);
    expect(h.listener.failed[0]!.nextDelayMs).toBeUndefined();
    expect(h.sender.callsTo(DLS)[0]!.request.headers['ce-knativeerrorcode']).toBe('500');
  });

  it('a too-old record with no dead letter is skipped after one attempt (transport error too)', async () => {
    const h = setup(['transport'], { retry: 5, maxRecordAgeMs: 5000 });
    expect(await run(h, makeRecord({ timestamp: NOW - 10_000 }))).toMatchObject({ outcome: 'skipped', attempts: 1 });
  });

  it('a record younger than the limit gets all its retries', async () => {
    const h = setup([500], { retry: 5, maxRecordAgeMs: 60_000, dls: [200] });
    expect(await run(h, makeRecord({ timestamp: NOW - 10_000 }))).toMatchObject({ outcome: 'dead-lettered', attempts: 6 });
  });

  it('0 means no limit', async () => {
    const h = setup([500], { retry: 3, maxRecordAgeMs: 0 });
    expect(await run(h, makeRecord({ timestamp: 0 }))).toMatchObject({ outcome: 'skipped', attempts: 4 });
  });

  it('a record that ages past the limit while retrying stops there', async () => {
    // age 4000 at attempt 1, 4600 at attempt 2, 5200 at attempt 3 (> 5000): no fourth attempt.
    const h = setup([500], { retry: 10, maxRecordAgeMs: 5000, backoffPolicy: 'fixed', backoffDelayMs: 600, dls: [200] });
    const result = await run(h, makeRecord({ timestamp: NOW - 4000 }));
    expect(result).toMatchObject({ outcome: 'dead-lettered', attempts: 3 });
    expect(h.listener.failed.map((f) => f.nextDelayMs)).toEqual([600, 600, undefined]);
  });

  it('age is measured with the injected clock', async () => {
    const h = setup([500], { retry: 5, maxRecordAgeMs: 5000, now: () => NOW + 60_000 });
    expect(await run(h, makeRecord({ timestamp: NOW }))).toMatchObject({ outcome: 'skipped', attempts: 1 });
  });

  it('an old record that is delivered at once is delivered', async () => {
    const h = setup([200], { maxRecordAgeMs: 1000 });
    expect(await run(h, makeRecord({ timestamp: NOW - 10_000 }))).toMatchObject({ outcome: 'delivered', attempts: 1 });
  });
});

describe('RecordDispatcher: a record that cannot become a request', () => {
  const invalid = () =>
    makeRecord({ headers: { 'content-type': 'application/cloudevents+json' }, value: Buffer.from('{"specversion":"1.0", not json') });

  it('no dead letter → discarded, never sent', async () => {
    const h = setup([200], { retry: 3 });
    const result = expectFinishedOnce(h, await run(h, invalid()));
    expect(result).toMatchObject({ outcome: 'discarded', attempts: 0 });
    expect(result.status).toBeUndefined();
    expect(result.error).toBeInstanceOf(RecordFormatError);
    expect(result.error?.code).toBe('KD_RECORD_INVALID');
    expect(h.sender.calls).toHaveLength(0);
    expect(h.listener.failed).toHaveLength(0);
  });

  it('dead-letter sink → gets the raw bytes, never the sink', async () => {
    const h = setup([200], { retry: 3, dls: [200] });
    const record = invalid();
    const result = expectFinishedOnce(h, await run(h, record));
    expect(result).toMatchObject({ outcome: 'dead-lettered', attempts: 0 });
    expect(result.error).toBeInstanceOf(RecordFormatError);
    expect(h.sender.sinkCalls).toHaveLength(0);
    const dead = h.sender.callsTo(DLS);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.request.body).toEqual(record.value);
    expect(dead[0]!.request.headers['ce-knativeerrordest']).toBe(SINK);
    expect(dead[0]!.request.headers).not.toHaveProperty('ce-knativeerrorcode');
    expect(dead[0]!.request.headers).not.toHaveProperty('ce-knativeerrordata');
  });

  it('dead-letter topic → gets the raw record with kd-error-* headers', async () => {
    const h = setup([200], { retry: 3, dlt: 'dlq', withProducer: true });
    const record = invalid();
    const result = expectFinishedOnce(h, await run(h, record));
    expect(result).toMatchObject({ outcome: 'dead-lettered', attempts: 0 });
    expect(h.sender.calls).toHaveLength(0);
    const { message } = h.producer.to('dlq')[0]!;
    expect(message.key).toEqual(record.key);
    expect(message.value).toEqual(record.value);
    expect(message.headers).toMatchObject({
      'content-type': 'application/cloudevents+json',
      'kd-error-code-name': 'KD_RECORD_INVALID',
      'kd-original-offset': '42',
    });
    expect(message.headers).not.toHaveProperty('kd-error-code');
  });

  it('dead letter fails → discarded', async () => {
    const h = setup([200], { retry: 0, dls: [500] });
    expect(await run(h, invalid())).toMatchObject({ outcome: 'discarded', attempts: 0 });
    expect(h.listener.deadLetterFailed).toHaveLength(1);
  });

  it('any error thrown by encode is a record error', async () => {
    const h = setup([200], {
      encode: () => {
        throw new TypeError('boom');
      },
    });
    const result = await run(h);
    expect(result).toMatchObject({ outcome: 'discarded', attempts: 0 });
    expect(result?.error?.code).toBe('KD_RECORD_INVALID');
    expect(h.sender.calls).toHaveLength(0);
  });

  it('discarded even under failure policy block (it would fail the same way every time)', async () => {
    const h = setup([200], { failurePolicy: 'block' });
    expect(await run(h, invalid())).toMatchObject({ outcome: 'discarded', attempts: 0 });
    expect(h.listener.blocked).toHaveLength(0);
  });
});

describe('RecordDispatcher: reply topic', () => {
  function withReply(sink: Script[], options: SetupOptions = {}): Harness {
    return setup(sink, { replyTopic: 'replies', withProducer: true, ...options });
  }

  it('a 2xx body is produced keyed like the input, with kd-original-* headers', async () => {
    const h = withReply([{ status: 200, body: '{"ok":true}', headers: { 'content-type': 'application/json' } }]);
    const record = makeRecord();
    const result = expectFinishedOnce(h, await run(h, record));
    expect(result).toMatchObject({ outcome: 'delivered', attempts: 1, status: 200 });
    expect(h.producer.sent).toEqual([
      {
        topic: 'replies',
        message: {
          key: record.key,
          value: Buffer.from('{"ok":true}'),
          headers: {
            'content-type': 'application/json',
            'kd-original-topic': 'orders',
            'kd-original-partition': '3',
            'kd-original-offset': '42',
          },
        },
      },
    ]);
  });

  it('a null key stays null', async () => {
    const h = withReply([{ status: 201, body: 'r' }]);
    await run(h, makeRecord({ key: null }));
    expect(h.producer.sent[0]!.message.key).toBeNull();
    expect(h.producer.sent[0]!.message.headers).not.toHaveProperty('content-type');
  });

  it('an empty body produces nothing', async () => {
    const h = withReply([204]);
    expect(await run(h)).toMatchObject({ outcome: 'delivered' });
    expect(h.producer.sent).toHaveLength(0);
  });

  it('failed attempts produce nothing; only the 2xx body is', async () => {
    const h = withReply(
      [
        { status: 500, body: 'error page' },
        { status: 200, body: 'done' },
      ],
      { retry: 1 },
    );
    await run(h);
    expect(h.producer.sent.map((p) => p.message.value?.toString())).toEqual(['done']);
  });

  it('a failing producer → onReplyFailed, the record is still delivered', async () => {
    const h = withReply([{ status: 200, body: 'pong' }]);
    h.producer.failing.add('replies');
    const result = expectFinishedOnce(h, await run(h));
    expect(result).toMatchObject({ outcome: 'delivered', attempts: 1, status: 200 });
    expect(h.listener.replyFailed).toHaveLength(1);
    expect(h.listener.replyFailed[0]!.code).toBe('KD_REPLY_TOPIC');
    expect(h.sender.calls).toHaveLength(1);
  });

  it('no reply topic → the producer is not used for replies', async () => {
    const h = setup([{ status: 200, body: 'pong' }], { withProducer: true });
    expect((await run(h))?.outcome).toBe('delivered');
    expect(h.producer.sent).toHaveLength(0);
  });
});

describe('RecordDispatcher: schedule', () => {
  it.each<[Script[], number, number]>([
    [[200], 0, 1],
    [[500, 500, 200], 2, 3],
    [[503], 4, 5],
    [[400], 4, 1],
    [['transport', 200], 3, 2],
  ])('script %j, retry %i → %i scheduled attempts', async (script, retry, attempts) => {
    let scheduled = 0;
    let inside = false;
    const outside: number[] = [];
    const h = setup(script, {
      retry,
      schedule: async (attempt) => {
        scheduled++;
        inside = true;
        try {
          return await attempt();
        } finally {
          inside = false;
        }
      },
    });
    const original = h.sender.send.bind(h.sender);
    h.sender.send = async (request, target) => {
      if (!inside) outside.push(h.sender.calls.length + 1);
      return original(request, target);
    };
    const result = await run(h);
    expect(result?.attempts).toBe(attempts);
    expect(scheduled).toBe(attempts);
    expect(h.sender.sinkCalls).toHaveLength(attempts);
    expect(outside).toEqual([]);
  });

  it('an attempt waits for the schedule', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const h = setup([200], { schedule: async (attempt) => gate.then(attempt) });
    const promise = h.dispatcher.dispatch(makeRecord());
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.sender.calls).toHaveLength(0);
    release();
    expect(await promise).toMatchObject({ outcome: 'delivered' });
    expect(h.sender.calls).toHaveLength(1);
  });
});

describe('RecordDispatcher: failure policy block', () => {
  it('retries past the retry limit with the configured backoff, capped by maxBackoffMs, until the sink accepts', async () => {
    const h = setup([500, 500, 500, 503, 500, 200], {
      retry: 1,
      failurePolicy: 'block',
      backoffPolicy: 'linear',
      backoffDelayMs: 100,
      maxBackoffMs: 300,
    });
    const result = expectFinishedOnce(h, await run(h));
    expect(result).toMatchObject({ outcome: 'delivered', attempts: 6, status: 200 });
    expect(h.listener.blocked.map((b) => b.round)).toEqual([1, 2, 3, 4]);
    // Round r waits linear(100 ms, r) = 100 × r, at most 300 ms.
    expect(h.listener.blocked.map((b) => b.nextDelayMs)).toEqual([100, 200, 300, 300]);
    expect(gaps(h.sender.sinkCalls.map((c) => c.at))).toEqual([100, 100, 200, 300, 300]);
    expect(h.listener.blocked.every((b) => b.error instanceof DispatchError)).toBe(true);
  });

  it('retries whatever the status (a final 400 too)', async () => {
    const h = setup([400, 410, 200], { retry: 5, failurePolicy: 'block', backoffDelayMs: 10, maxBackoffMs: 1000 });
    const result = expectFinishedOnce(h, await run(h));
    expect(result).toMatchObject({ outcome: 'delivered', attempts: 3, status: 200 });
    expect(h.listener.blocked).toHaveLength(2);
    expect((h.listener.blocked[1]!.error as SinkResponseError).status).toBe(410);
  });

  it('tries the dead letters again each round: dead-lettered once one accepts', async () => {
    const h = setup([500], { retry: 0, failurePolicy: 'block', backoffDelayMs: 10, dls: [500, 500, 200] });
    const result = expectFinishedOnce(h, await run(h));
    expect(result).toMatchObject({ outcome: 'dead-lettered', attempts: 3, status: 500 });
    expect(h.listener.blocked).toHaveLength(2);
    expect(h.sender.callsTo(DLS)).toHaveLength(3);
    // Sink, dead letter, sink, dead letter, ... in this order.
    expect(h.sender.calls.map((c) => (c.target ? 'dl' : 'sink'))).toEqual(['sink', 'dl', 'sink', 'dl', 'sink', 'dl']);
  });

  it('a dead letter that accepts at once means no blocking', async () => {
    const h = setup([500], { retry: 1, failurePolicy: 'block', dls: [200] });
    expect(await run(h)).toMatchObject({ outcome: 'dead-lettered', attempts: 2 });
    expect(h.listener.blocked).toHaveLength(0);
  });

  it('BACKOFF_DELAY=0 is no tight loop: rounds wait at least BLOCK_MIN_DELAY_MS', async () => {
    const h = setup([500, 500, 500, 200], { retry: 0, failurePolicy: 'block', backoffPolicy: 'fixed', backoffDelayMs: 0 });
    expect(await run(h)).toMatchObject({ outcome: 'delivered', attempts: 4 });
    expect(h.listener.blocked.map((b) => b.nextDelayMs)).toEqual([BLOCK_MIN_DELAY_MS, BLOCK_MIN_DELAY_MS, BLOCK_MIN_DELAY_MS]);
    expect(gaps(h.sender.sinkCalls.map((c) => c.at))).toEqual([BLOCK_MIN_DELAY_MS, BLOCK_MIN_DELAY_MS, BLOCK_MIN_DELAY_MS]);
  });

  it('the default cap is 60 s', async () => {
    const h = setup([500, 500, 500, 500, 500, 500, 500, 200], {
      retry: 0,
      failurePolicy: 'block',
      backoffPolicy: 'exponential',
      backoffDelayMs: 1000,
      maxBackoffMs: DEFAULTS.maxBackoffMs,
    });
    const result = await run(h);
    expect(result).toMatchObject({ outcome: 'delivered', attempts: 8 });
    expect(h.listener.blocked.map((b) => b.nextDelayMs)).toEqual([2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  });

  it('block: waits honour Retry-After (capped by maxRetryAfterMs) and then maxBackoffMs, like every retry loop', async () => {
    const ra = (value: string): Script => ({ status: 503, headers: { 'retry-after': value } });
    const h = setup([500, ra('2'), ra('60'), 200], {
      retry: 0,
      failurePolicy: 'block',
      backoffPolicy: 'fixed',
      backoffDelayMs: 100,
      maxRetryAfterMs: 5000,
      maxBackoffMs: 3000,
    });
    expect(await run(h)).toMatchObject({ outcome: 'delivered', attempts: 4 });
    expect(h.listener.blocked.map((b) => b.nextDelayMs)).toEqual([100, 2000, 3000]);
  });
});

describe('RecordDispatcher: the dead-letter sink is retried by the same rules as the sink', () => {
  it('honours Retry-After', async () => {
    const h = setup([400], {
      retry: 2,
      backoffPolicy: 'fixed',
      backoffDelayMs: 100,
      dls: [{ status: 503, headers: { 'retry-after': '3' } }, 200],
    });
    expect(await run(h)).toMatchObject({ outcome: 'dead-lettered', attempts: 1 });
    expect(gaps(h.sender.callsTo(DLS).map((c) => c.at))).toEqual([3000]);
  });

  it('applies jitter', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const h = setup([400], { retry: 1, backoffPolicy: 'fixed', backoffDelayMs: 1000, retryJitter: 0.5, dls: [500, 200] });
    expect(await run(h)).toMatchObject({ outcome: 'dead-lettered' });
    expect(gaps(h.sender.callsTo(DLS).map((c) => c.at))).toEqual([500]);
  });

  it('backs off with the configured policy, per destination', async () => {
    const h = setup([500], { retry: 2, backoffPolicy: 'exponential', backoffDelayMs: 100, dls: [500, 500, 200] });
    expect(await run(h)).toMatchObject({ outcome: 'dead-lettered', attempts: 3 });
    expect(gaps(h.sender.sinkCalls.map((c) => c.at))).toEqual([200, 400]);
    expect(gaps(h.sender.callsTo(DLS).map((c) => c.at))).toEqual([200, 400]);
    // Dead-letter failures are not sink retries: onAttemptFailed hears of the sink only.
    expect(h.listener.failed).toHaveLength(3);
  });
});

describe('RecordDispatcher: hard stop (signal)', () => {
  it('block policy: aborting the signal ends it: dispatch resolves undefined, no onFinished', async () => {
    const controller = new AbortController();
    const h = setup([503], {
      retry: 1,
      failurePolicy: 'block',
      backoffPolicy: 'fixed',
      backoffDelayMs: 100,
      maxBackoffMs: 1000,
      signal: controller.signal,
    });
    const promise = h.dispatcher.dispatch(makeRecord());
    let settled = false;
    void promise.then(() => (settled = true));
    // 2 attempts (100 ms apart), then a round every 100 ms (the fixed policy).
    await vi.advanceTimersByTimeAsync(100 + 100 + 100 + 50);
    expect(h.sender.sinkCalls).toHaveLength(4);
    expect(h.listener.blocked).toHaveLength(3);
    expect(settled).toBe(false);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(await promise).toBeUndefined();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.sender.sinkCalls).toHaveLength(4);
    expect(h.listener.finished).toHaveLength(0);
    expect(h.listener.received).toHaveLength(1);
  });

  it('aborting during the first retries also leaves the record unfinished (no dead letter)', async () => {
    const controller = new AbortController();
    const h = setup([503], { retry: 5, backoffPolicy: 'fixed', backoffDelayMs: 1000, signal: controller.signal, dls: [200] });
    const promise = h.dispatcher.dispatch(makeRecord());
    await vi.advanceTimersByTimeAsync(1500);
    expect(h.sender.sinkCalls).toHaveLength(2);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(await promise).toBeUndefined();
    await vi.runAllTimersAsync();
    expect(h.sender.sinkCalls).toHaveLength(2);
    expect(h.sender.callsTo(DLS)).toHaveLength(0);
    expect(h.listener.finished).toHaveLength(0);
  });

  // RecordDispatcherOptions.signal: "Aborted on a hard stop: the record stays unfinished (not
  // committed) and is redelivered later." A stop while the dead-letter sink is being retried must not
  // turn the record into `skipped` (which commits its offset: the record would be lost).
  it('aborting while the dead-letter sink is retried leaves the record unfinished (skip policy)', async () => {
    const controller = new AbortController();
    const h = setup([500], { retry: 2, backoffPolicy: 'fixed', backoffDelayMs: 1000, signal: controller.signal, dls: [503] });
    const promise = h.dispatcher.dispatch(makeRecord());
    // Sink: 0, 1000, 2000 ms; dead letter: 2000 ms, then waits 1000 ms before its retry.
    await vi.advanceTimersByTimeAsync(2500);
    expect(h.sender.sinkCalls).toHaveLength(3);
    expect(h.sender.callsTo(DLS)).toHaveLength(1);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    const result = await promise;
    expect(h.listener.finished).toEqual([]);
    expect(result).toBeUndefined();
  });

  it('a stop while the dead-letter sink is retried does not reach the dead-letter topic, nor count as a dead-letter failure', async () => {
    const controller = new AbortController();
    const h = setup([500], {
      retry: 1,
      backoffPolicy: 'fixed',
      backoffDelayMs: 1000,
      signal: controller.signal,
      dls: [503],
      dlt: 'dlq',
      withProducer: true,
    });
    const promise = h.dispatcher.dispatch(makeRecord());
    await vi.advanceTimersByTimeAsync(1500);
    expect(h.sender.callsTo(DLS)).toHaveLength(1);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(await promise).toBeUndefined();
    expect(h.producer.sent).toHaveLength(0);
    expect(h.listener.deadLetterFailed).toHaveLength(0);
  });

  it('a retry that is accepted as the stop comes is delivered, not left unfinished', async () => {
    const controller = new AbortController();
    const h = setup(
      [
        500,
        () => {
          controller.abort();
          return { status: 200, headers: {}, body: Buffer.alloc(0) };
        },
      ],
      { retry: 3, signal: controller.signal },
    );
    expect(await run(h)).toMatchObject({ outcome: 'delivered', attempts: 2 });
    expect(h.listener.finished).toHaveLength(1);
  });

  it('a signal aborted before dispatch sends nothing and finishes nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const h = setup([200], { signal: controller.signal, failurePolicy: 'block' });
    expect(await run(h)).toBeUndefined();
    expect(h.sender.calls).toHaveLength(0);
    expect(h.listener.finished).toHaveLength(0);
  });
});

describe('RecordDispatcher: every HTTP exchange is reported to onAttempt', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  it('reports each sink attempt with its status or error, then the dead-letter attempt', async () => {
    const h = setup([503, 'transport', 500], { dls: [202] });
    const result = await run(h);
    expect(result?.outcome).toBe('dead-lettered');
    expect(h.listener.attempts.map((a) => [a.target, a.status, a.error?.code])).toEqual([
      ['sink', 503, undefined],
      ['sink', undefined, 'KD_SINK_TRANSPORT'],
      ['sink', 500, undefined],
      ['dead-letter', 202, undefined],
    ]);
    expect(h.listener.attempts.every((a) => a.durationMs >= 0)).toBe(true);
  });
});
