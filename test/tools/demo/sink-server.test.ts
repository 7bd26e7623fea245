import { describe, it, expect, afterEach } from 'vitest';
import { Writable } from 'node:stream';
import { Agent, request } from 'undici';
import { createLogger } from '../../../src/telemetry/logger.js';
import { startDemoSink, type DemoSink, type DemoSinkOptions } from '../../../tools/demo/sink-server.js';

const silent = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

const sinks: DemoSink[] = [];
async function start(options: DemoSinkOptions = {}): Promise<DemoSink> {
  const sink = await startDemoSink({ port: 0, logger: silent, ...options });
  sinks.push(sink);
  return sink;
}
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

describe('demo sink', () => {
  it('answers GET /predict?query=music with PlayMusic, like the article', async () => {
    const sink = await start();
    expect(sink.url).toBe(`http://127.0.0.1:${sink.port}`);
    const res = await request(`${sink.url}/predict?query=music`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(Number(res.headers['x-intent-confidence'])).toBeGreaterThan(0);
    expect(await res.body.text()).toBe('PlayMusic');
  });

  it('answers POST /predict from the query parameter, a JSON body field, or the raw body', async () => {
    const sink = await start();
    const post = async (path: string, body: string, contentType = 'text/plain'): Promise<string> => {
      const res = await request(`${sink.url}${path}`, { method: 'POST', body, headers: { 'content-type': contentType } });
      expect(res.statusCode).toBe(200);
      return res.body.text();
    };
    expect(await post('/predict?query=will%20it%20rain%20tomorrow%20in%20paris', 'ignored')).toBe('GetWeather');
    expect(await post('/predict', JSON.stringify({ query: 'play some jazz' }), 'application/json')).toBe('PlayMusic');
    expect(await post('/predict', JSON.stringify({ text: 'wake me up at 7am' }), 'application/json')).toBe('SetAlarm');
    expect(
      await post('/predict', JSON.stringify({ template_name: 'book a table for two at an italian place' }), 'application/cloudevents+json'),
    ).toBe('BookRestaurant');
    expect(await post('/predict', 'send a text to my brother saying hi')).toBe('SendMessage');
    expect(await post('/predict', '')).toBe('Unknown');

    const stats = sink.stats();
    expect(stats.received).toBe(6);
    expect(stats.answered).toBe(6);
    expect(stats.byIntent).toMatchObject({ GetWeather: 1, PlayMusic: 1, SetAlarm: 1, BookRestaurant: 1, SendMessage: 1, Unknown: 1 });
  });

  it('serves /healthz, /stats, 404 and 405', async () => {
    const sink = await start();
    const health = await request(`${sink.url}/healthz`);
    expect(health.statusCode).toBe(200);
    await health.body.text();
    const missing = await request(`${sink.url}/nope`);
    expect(missing.statusCode).toBe(404);
    await missing.body.text();
    const wrong = await request(`${sink.url}/predict`, { method: 'PUT', body: 'x' });
    expect(wrong.statusCode).toBe(405);
    await wrong.body.text();
    const stats = await request(`${sink.url}/stats`);
    expect(stats.headers['content-type']).toMatch(/^application\/json/);
    expect(await stats.body.json()).toEqual({
      received: 0,
      answered: 0,
      rejected: 0,
      inFlight: 0,
      maxInFlight: 0,
      queued: 0,
      byIntent: {},
      byHost: {},
    });
  });

  it('counts Host header values, proving Host-header routing', async () => {
    const sink = await start();
    for (const host of ['intent.default.example.com', 'intent.default.example.com', 'other.default.example.com']) {
      const res = await request(`${sink.url}/predict?query=music`, { headers: { host } });
      await res.body.text();
    }
    const res = await request(`${sink.url}/stats`);
    const stats = (await res.body.json()) as { byHost: Record<string, number>; received: number };
    expect(stats.byHost).toEqual({ 'intent.default.example.com': 2, 'other.default.example.com': 1 });
    expect(stats.received).toBe(3);
  });

  it('applies the processing latency', async () => {
    const sink = await start({ latencyMs: 150 });
    const t0 = performance.now();
    const res = await request(`${sink.url}/predict?query=music`);
    await res.body.text();
    // Timers may fire a hair early relative to performance.now(); allow 5 ms of clock slack.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
  });

  it('limits concurrency like Knative containerConcurrency + queue-proxy: 2 in flight, 2 queued, rest 503', async () => {
    const sink = await start({ concurrency: 2, queueDepth: 2, latencyMs: 300 });
    const results = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const res = await request(`${sink.url}/predict?query=music`);
        return { status: res.statusCode, body: await res.body.text() };
      }),
    );
    const ok = results.filter((r) => r.status === 200);
    const rejected = results.filter((r) => r.status === 503);
    expect(ok).toHaveLength(4);
    expect(rejected).toHaveLength(6);
    expect(ok.every((r) => r.body === 'PlayMusic')).toBe(true);
    expect(rejected.every((r) => r.body === 'overloaded')).toBe(true);
    const stats = sink.stats();
    expect(stats).toMatchObject({ received: 10, answered: 4, rejected: 6, inFlight: 0, maxInFlight: 2, queued: 0 });
  });

  it('is unlimited with concurrency 0', async () => {
    const sink = await start({ latencyMs: 100 });
    const statuses = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const res = await request(`${sink.url}/predict?query=music`);
        await res.body.text();
        return res.statusCode;
      }),
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(sink.stats().maxInFlight).toBeGreaterThan(2);
  });

  it('close() resolves with keep-alive connections open', async () => {
    const sink = await startDemoSink({ port: 0, logger: silent });
    const agent = new Agent({ keepAliveTimeout: 60_000 });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await request(`${sink.url}/healthz`, { dispatcher: agent });
        await res.body.text();
      }
      await sink.close();
      await expect(request(`${sink.url}/healthz`, { dispatcher: agent })).rejects.toThrow();
    } finally {
      await agent.destroy();
    }
  });

  it('close() resolves while requests are queued and in flight', async () => {
    const sink = await startDemoSink({ port: 0, logger: silent, concurrency: 1, latencyMs: 5_000 });
    const pending = Array.from({ length: 3 }, () => request(`${sink.url}/predict?query=music`).catch((e: unknown) => e));
    while (sink.stats().received < 3) await new Promise((r) => setTimeout(r, 10));
    await sink.close();
    const outcomes = await Promise.all(pending);
    expect(outcomes.every((o) => o instanceof Error)).toBe(true);
  });

  it('rejects invalid options', async () => {
    await expect(startDemoSink({ port: 0, logger: silent, latencyMs: -1 })).rejects.toThrow(/latencyMs/);
  });
});
