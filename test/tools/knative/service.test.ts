import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createClock } from '../../../tools/knative/clock.js';
import { QueueProxy } from '../../../tools/knative/queue-proxy.js';
import { startKnativeService, type EmulatedService, type KnativeServiceOptions } from '../../../tools/knative/service.js';

const services: EmulatedService[] = [];
async function start(options: KnativeServiceOptions): Promise<EmulatedService> {
  const s = await startKnativeService(options);
  services.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

async function call(url: string, body?: string): Promise<{ status: number; text: string }> {
  const res = await request(url, body === undefined ? {} : { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: res.statusCode, text: await res.body.text() };
}

/** Poll (real time) until `check` holds; generous, it only bounds a hang. */
async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('clock', () => {
  it('runs scenario time `speed` times faster and converts durations for timers', async () => {
    const clock = createClock(20);
    expect(clock.toRealMs(1000)).toBe(50);
    const before = clock.now();
    await clock.sleep(2000);
    expect(clock.now() - before).toBeGreaterThanOrEqual(1900);
    expect(() => createClock(0)).toThrow(RangeError);
  });
});

describe('queue-proxy', () => {
  it('containerConcurrency 2: 2 execute, 20 queue, the 23rd gets null (503); a release moves the queue', async () => {
    const qp = new QueueProxy(2);
    const admitted = Array.from({ length: 22 }, () => qp.enter());
    expect(admitted.every((a) => a !== null)).toBe(true);
    expect([qp.executing, qp.queued]).toEqual([2, 20]);
    expect(qp.enter()).toBeNull();
    const release = await admitted[0]!;
    release();
    release(); // twice is once
    expect([qp.executing, qp.queued]).toEqual([2, 19]);
    await admitted[2]; // the first queued one now runs
  });

  it('containerConcurrency 0: no limit', () => {
    const qp = new QueueProxy(0);
    for (let i = 0; i < 1000; i++) expect(qp.enter()).not.toBeNull();
    expect(qp.executing).toBe(1000);
  });
});

describe('emulated Knative Service', () => {
  it('through the queue-proxy (activator out of the path): 22 of 23 concurrent requests are served, one gets 503', async () => {
    const svc = await start({
      containerConcurrency: 2,
      minScale: 1,
      maxScale: 1,
      kpa: { targetBurstCapacity: 0 },
      cost: { kind: 'fixed', latencyMs: 2000 },
      speed: 10,
    });
    const results = await Promise.all(Array.from({ length: 23 }, () => call(svc.url)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(22);
    expect(results.find((r) => r.status === 503)?.text).toBe('pending request queue full');
    const s = svc.snapshot();
    expect([s.served, s.rejected503, s.timedOut, s.podsReady]).toEqual([22, 1, 0, 1]);
    expect(Math.max(...svc.timeline().map((t) => t.executing))).toBeLessThanOrEqual(2);
    expect(JSON.parse(results.find((r) => r.status === 200)!.text)).toMatchObject({ ok: true, pod: 1, items: 1 });
  });

  it('scaled to zero: the activator holds requests and releases them when a pod is ready', async () => {
    const svc = await start({
      containerConcurrency: 2,
      initialScale: 0,
      podStartMs: 5000,
      cost: { kind: 'fixed', latencyMs: 100 },
      speed: 20,
    });
    expect(svc.snapshot().podsReady).toBe(0);
    const pending = Promise.all(Array.from({ length: 3 }, () => call(svc.url)));
    await until(() => svc.snapshot().heldByActivator === 3);
    const results = await pending;
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    // Held while the pod started: each waited about podStartMs (scenario time).
    for (const r of results) expect((JSON.parse(r.text) as { latencyMs: number }).latencyMs).toBeGreaterThan(3000);
    const timeline = svc.timeline();
    expect(timeline.some((t) => t.heldByActivator > 0 && t.podsReady === 0 && t.podsStarting > 0)).toBe(true);
    expect(svc.snapshot()).toMatchObject({ served: 3, rejected503: 0, timedOut: 0 });
    expect(svc.snapshot().podsReady).toBeGreaterThanOrEqual(1);
  });

  it('a request held longer than the activator timeout gets 504 activator request timeout', async () => {
    const svc = await start({ containerConcurrency: 2, initialScale: 0, podStartMs: 3_600_000, activatorTimeoutMs: 3000, speed: 20 });
    const r = await call(svc.url);
    expect(r).toEqual({ status: 504, text: 'activator request timeout' });
    expect(svc.snapshot()).toMatchObject({ timedOut: 1, served: 0, heldByActivator: 0 });
  });

  it('scale-down drains: a removed pod finishes the requests it holds', async () => {
    // Two pods, one long request on each (least loaded routing); 2 in flight ÷ target 7 → 1 pod once
    // the initial panic (started with 2 ready pods) has passed its 6 s stable window.
    const svc = await start({
      containerConcurrency: 10,
      initialScale: 2,
      minScale: 1,
      kpa: { targetBurstCapacity: 0, stableWindowMs: 6000 },
      cost: { kind: 'fixed', latencyMs: 20_000 },
      speed: 10,
    });
    const pending = Promise.all([call(svc.url), call(svc.url)]);
    await until(() => svc.snapshot().podsDraining === 1);
    expect(svc.snapshot()).toMatchObject({ podsReady: 1, executing: 2 });
    const results = await pending;
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    expect(new Set(results.map((r) => (JSON.parse(r.text) as { pod: number }).pod)).size).toBe(2);
    await until(() => svc.snapshot().podsDraining === 0);
    expect(svc.snapshot()).toMatchObject({ podsReady: 1, served: 2, rejected503: 0 });
  });

  it('the article: 256 in flight on one pod with cc 2 panics and asks for maxScale 100 pods', async () => {
    const svc = await start({
      containerConcurrency: 2,
      maxScale: 100,
      podStartMs: 30_000,
      cost: { kind: 'fixed', latencyMs: 5000 },
      speed: 20,
    });
    const pending = Promise.allSettled(Array.from({ length: 256 }, () => call(svc.url)));
    await until(() => svc.snapshot().desiredPods === 100);
    const s = svc.snapshot();
    expect(s).toMatchObject({ inPanic: true, podsReady: 1, activatorInPath: true });
    expect(s.podsStarting).toBe(99);
    expect(s.executing).toBeLessThanOrEqual(2);
    expect(s.heldByActivator + s.executing + s.served).toBeGreaterThanOrEqual(250);
    await svc.close();
    await pending;
  });

  it('batch cost: a + b·n for a JSON array or {instances}, one item for other JSON', async () => {
    const svc = await start({ containerConcurrency: 4, minScale: 1, cost: { kind: 'batch', aMs: 1000, bMsPerItem: 500 }, speed: 10 });
    const a = JSON.parse((await call(svc.url, JSON.stringify([1, 2, 3, 4]))).text) as { items: number; latencyMs: number };
    const b = JSON.parse((await call(svc.url, JSON.stringify({ instances: [1] }))).text) as { items: number; latencyMs: number };
    const c = JSON.parse((await call(svc.url, JSON.stringify({ id: 1 }))).text) as { items: number; latencyMs: number };
    expect([a.items, b.items, c.items]).toEqual([4, 1, 1]);
    expect(c.latencyMs).toBeGreaterThanOrEqual(1400);
    expect(a.latencyMs).toBeGreaterThanOrEqual(2900);
    expect(b.latencyMs).toBeGreaterThanOrEqual(1400);
  });

  it('a constant load of 20 concurrent requests (cc 2) for 100 scenario seconds scales to ≈ 20 ÷ 1.4 pods, then back to 0', async () => {
    const N = 20;
    const svc = await start({ containerConcurrency: 2, podStartMs: 4000, cost: { kind: 'fixed', latencyMs: 2000 }, speed: 20 });
    const loadEnd = svc.clock.now() + 100_000;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: N }, async () => {
        while (svc.clock.now() < loadEnd) statuses.push((await call(svc.url)).status);
      }),
    );
    const atLoadEnd = svc.snapshot();
    const expected = N / (0.7 * 2);
    expect(atLoadEnd.podsReady).toBeGreaterThanOrEqual(Math.ceil(expected * 0.8));
    expect(atLoadEnd.podsReady).toBeLessThanOrEqual(Math.floor(expected * 1.2));
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(atLoadEnd.timedOut + atLoadEnd.rejected503).toBe(0);
    // The first seconds panic (20 in flight on 1 pod ≥ 2 × target).
    expect(svc.timeline().some((t) => t.inPanic)).toBe(true);
    // The timeline has one entry per scenario second, whatever the timers did.
    const ts = svc.timeline().map((t) => t.t);
    expect(ts.every((t, i) => i === 0 || t === ts[i - 1]! + 1)).toBe(true);
    expect(ts.length).toBeGreaterThanOrEqual(95);
    // In steady state (the last 30 s of load) the pod count stays within the band too.
    const steady = svc.timeline().filter((t) => t.t >= 70 && t.t * 1000 <= loadEnd);
    expect(Math.min(...steady.map((t) => t.podsReady))).toBeGreaterThanOrEqual(Math.ceil(expected * 0.8));

    // Back to minScale (0) only after the stable window (60 s) and the grace period (30 s).
    await until(() => svc.snapshot().podsReady === 0, 30_000);
    const zeroAt = svc.timeline().find((t) => t.t * 1000 > loadEnd && t.podsReady === 0)?.t ?? svc.snapshot().t;
    expect(zeroAt - loadEnd / 1000).toBeGreaterThanOrEqual(60);
    expect(zeroAt - loadEnd / 1000).toBeLessThan(150);
  }, 90_000);
});
