/**
 * An emulated Knative Service on a real HTTP port: pods with queue-proxies, the activator, and the
 * KPA deciding the pod count, all on a (possibly compressed) scenario clock. Developer tooling for
 * the simulator; it models the request path and the autoscaler, not Kubernetes.
 *
 *   any method, any path  → after the cost: 200 {"ok":true,"pod":…,"items":…,"latencyMs":…}
 *                           503 `pending request queue full` (a queue-proxy's or the activator's queue)
 *                           504 `activator request timeout` (held longer than activatorTimeoutMs)
 *   GET /healthz          → 200 ok (not counted)
 *
 * Every request inside the service (held by the activator, queued in a queue-proxy, running)
 * counts as concurrency; its time-weighted average over each scenario second is recorded for the
 * autoscaler (Knative's queue-proxy reports averaged concurrency each second, the activator its held
 * requests: `pkg/autoscaler/metrics/collector.go`). The autoscaler decides every tick (2 s,
 * `pkg/autoscaler/scaling/multiscaler.go` `tickInterval`), and at once on a sample with traffic
 * while the last decision was 0 (`MultiScaler.Poke`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Activator } from './activator.js';
import { createClock, type Clock } from './clock.js';
import { PodAutoscaler, type KpaConfig, type ScaleResult } from './kpa.js';
import { Pod } from './pod.js';
import { QUEUE_FULL_MESSAGE } from './queue-proxy.js';

export type CostModel =
  /** Each request takes latencyMs ± jitterMs (uniform, never below 0). */
  | { kind: 'fixed'; latencyMs: number; jitterMs?: number }
  /** The body is a JSON array (or `{ instances: [...] }`) of n items, other JSON one item; a request takes aMs + bMsPerItem × n. */
  | { kind: 'batch'; aMs: number; bMsPerItem: number };

export interface KnativeServiceOptions {
  /** Requests at once per pod (0 = unlimited, Knative's default). Default 0. */
  containerConcurrency?: number;
  /** `autoscaling.knative.dev/min-scale`. Default 0. */
  minScale?: number;
  /** `autoscaling.knative.dev/max-scale`; 0 = unbounded. Default 0. */
  maxScale?: number;
  /** Pods ready at t = 0 (`autoscaling.knative.dev/initial-scale`, Knative's default 1). */
  initialScale?: number;
  /** Scenario ms from a pod being asked for to it being ready. Default 2000 (GPU nodes: tens of seconds). */
  podStartMs?: number;
  /** Default `{ kind: 'fixed', latencyMs: 100 }`. */
  cost?: CostModel;
  /** Scenario ms a request may wait in the activator before 504. Default 300 000 (revision-timeout-seconds). */
  activatorTimeoutMs?: number;
  /** KPA overrides (target utilization, windows, rates, target burst capacity, …). */
  kpa?: Omit<KpaConfig, 'containerConcurrency' | 'minScale' | 'maxScale'>;
  /** Scenario time runs this many times faster than real time. Default 1. Ignored when `clock` is given. */
  speed?: number;
  /** A clock to share with a simulator. Default `createClock(speed)`. */
  clock?: Clock;
  /** Scenario ms between autoscaler decisions. Default 2000 (Knative's tick). */
  tickMs?: number;
  /** Scenario ms between concurrency samples (and timeline entries). Default 1000. */
  sampleMs?: number;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
}

export interface ServiceSnapshot {
  /** Scenario seconds since start. */
  t: number;
  podsReady: number;
  podsStarting: number;
  /** Removed pods still finishing their requests. */
  podsDraining: number;
  desiredPods: number;
  inPanic: boolean;
  /** Requests inside the service right now. */
  concurrency: number;
  stableConcurrency: number;
  panicConcurrency: number;
  excessBurstCapacity: number;
  activatorInPath: boolean;
  executing: number;
  queued: number;
  heldByActivator: number;
  /** Cumulative 2xx answers. */
  served: number;
  /** Cumulative 503 answers. */
  rejected503: number;
  /** Cumulative 504 answers (activator timeout). */
  timedOut: number;
  /** Median scenario latency of the requests served in the last sample period. */
  latencyP50Ms?: number;
}

export interface EmulatedService {
  url: string;
  port: number;
  clock: Clock;
  snapshot(): ServiceSnapshot;
  /** One snapshot per sample period (scenario second; `t` is that second), oldest first. */
  timeline(): ServiceSnapshot[];
  close(): Promise<void>;
}

const DEFAULT_COST: CostModel = { kind: 'fixed', latencyMs: 100 };

export async function startKnativeService(options: KnativeServiceOptions = {}): Promise<EmulatedService> {
  const cc = options.containerConcurrency ?? 0;
  const initialScale = options.initialScale ?? 1;
  const podStartMs = options.podStartMs ?? 2000;
  const cost = options.cost ?? DEFAULT_COST;
  const tickMs = options.tickMs ?? 2000;
  const sampleMs = options.sampleMs ?? 1000;
  const clock = options.clock ?? createClock(options.speed ?? 1);
  const kpa = new PodAutoscaler(
    { ...options.kpa, containerConcurrency: cc, minScale: options.minScale ?? 0, maxScale: options.maxScale ?? 0 },
    { nowMs: clock.now(), readyPods: initialScale },
  );
  const closing = new AbortController();

  let pods: Pod[] = [];
  let nextPodId = 1;
  let served = 0;
  let rejected503 = 0;
  let timedOut = 0;
  let last: ScaleResult = {
    desiredPods: initialScale,
    inPanic: false,
    stableConcurrency: 0,
    panicConcurrency: 0,
    excessBurstCapacity: excessBurst(initialScale, 0),
    valid: false,
  };
  const history: ServiceSnapshot[] = [];
  let latencies: number[] = [];
  let lastP50: number | undefined;

  // Time-weighted concurrency: every request inside the service.
  let inside = 0;
  let integral = 0;
  let lastChange = clock.now();
  let periodStart = lastChange;
  const change = (delta: number) => {
    const now = clock.now();
    integral += inside * (now - lastChange);
    lastChange = now;
    inside += delta;
  };

  function excessBurst(ready: number, panic: number): number {
    const tbc = kpa.spec.targetBurstCapacity;
    return tbc === 0 ? 0 : tbc < 0 ? -1 : Math.floor(ready * kpa.spec.totalValue - tbc - panic);
  }
  const ready = () => pods.filter((p) => p.state === 'ready');
  const activatorInPath = () => ready().length === 0 || last.excessBurstCapacity < 0;
  const leastLoaded = (candidates: Pod[]) =>
    candidates.reduce<Pod | undefined>((a, p) => (!a || p.inFlight < a.inFlight ? p : a), undefined);
  const activator = new Activator(
    clock,
    () => leastLoaded(ready().filter((p) => p.queueProxy.hasFreeSlot)),
    options.activatorTimeoutMs ?? 300_000,
  );

  function addPod(readyNow: boolean): void {
    const pod = new Pod(nextPodId++, cc, clock.now());
    pod.queueProxy.onRelease = () => {
      if (pod.state === 'draining' && pod.inFlight === 0) pod.state = 'gone';
      activator.drain();
    };
    pods.push(pod);
    const becomeReady = () => {
      pod.startTimer = undefined;
      pod.state = 'ready';
      activator.drain();
    };
    if (readyNow) becomeReady();
    else pod.startTimer = clock.setTimeout(becomeReady, podStartMs);
  }

  /** Make ready + starting pods equal `desired`: start pods, or remove starting ones, then the least loaded ready ones. */
  function applyScale(desired: number): void {
    const live = pods.filter((p) => p.state === 'starting' || p.state === 'ready');
    for (let i = live.length; i < desired; i++) addPod(false);
    let excess = live.length - desired;
    for (const p of live.filter((q) => q.state === 'starting')) {
      if (excess <= 0) break;
      clearTimeout(p.startTimer);
      p.state = 'gone';
      excess--;
    }
    const readyByLoad = live.filter((q) => q.state === 'ready').sort((a, b) => a.inFlight - b.inFlight);
    for (const p of readyByLoad) {
      if (excess <= 0) break;
      p.state = p.inFlight === 0 ? 'gone' : 'draining';
      excess--;
    }
    pods = pods.filter((p) => p.state !== 'gone');
  }

  function decide(): void {
    const r = kpa.scale(clock.now(), ready().length);
    last = r;
    if (r.valid) applyScale(r.desiredPods);
    activator.drain();
  }

  function snapshot(): ServiceSnapshot {
    let executing = 0;
    let queued = 0;
    for (const p of pods) {
      executing += p.queueProxy.executing;
      queued += p.queueProxy.queued;
    }
    const s: ServiceSnapshot = {
      t: Math.round(clock.now()) / 1000,
      podsReady: ready().length,
      podsStarting: pods.filter((p) => p.state === 'starting').length,
      podsDraining: pods.filter((p) => p.state === 'draining').length,
      desiredPods: last.desiredPods,
      inPanic: last.inPanic,
      concurrency: inside,
      stableConcurrency: last.stableConcurrency,
      panicConcurrency: last.panicConcurrency,
      excessBurstCapacity: last.excessBurstCapacity,
      activatorInPath: activatorInPath(),
      executing,
      queued,
      heldByActivator: activator.held,
      served,
      rejected503,
      timedOut,
    };
    if (lastP50 !== undefined) s.latencyP50Ms = lastP50;
    return s;
  }

  // Timers fire late on a loaded machine (at speed 20 a 10 ms stall is 200 scenario ms): a sample
  // covers every scenario second since the last recorded one, so no bucket is skipped (a skipped
  // bucket counts as 0 in Knative's average) and none gets two values (they would add up).
  let recordedUpTo = Math.floor(clock.now() / sampleMs) * sampleMs;
  function sample(): void {
    change(0);
    const now = clock.now();
    const bucket = Math.floor(now / sampleMs) * sampleMs;
    if (bucket <= recordedUpTo) return;
    const avg = now > periodStart ? integral / (now - periodStart) : inside;
    integral = 0;
    periodStart = now;
    const covered = recordedUpTo + sampleMs;
    // With no ready pod there is nothing to scrape (`stats_scraper.go` returns an empty stat, which
    // the collector does not record): only the activator's requests make a stat.
    if (avg > 0 || ready().length > 0) for (let b = covered; b <= bucket; b += sampleMs) kpa.record(b, avg);
    recordedUpTo = bucket;
    const sorted = latencies.sort((a, b) => a - b);
    lastP50 = sorted.length > 0 ? sorted[Math.floor((sorted.length - 1) / 2)] : undefined;
    latencies = [];
    if (last.desiredPods === 0 && avg > 0) decide(); // Poke: traffic at scale zero decides at once
    // One timeline entry per scenario second, also for the seconds a late timer skipped.
    const snap = snapshot();
    for (let b = covered; b <= bucket; b += sampleMs) history.push({ ...snap, t: b / 1000 });
  }

  function costMs(body: Buffer): { ms: number; items: number } {
    if (cost.kind === 'fixed') {
      const j = cost.jitterMs ?? 0;
      return { ms: Math.max(0, cost.latencyMs + (j > 0 ? (Math.random() * 2 - 1) * j : 0)), items: 1 };
    }
    let items = 0;
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      const list = Array.isArray(parsed) ? parsed : (parsed as { instances?: unknown } | null)?.instances;
      // Any other JSON (one record's value, sent alone) is one item.
      items = Array.isArray(list) ? list.length : 1;
    } catch {
      // not JSON: no items, the request costs aMs
    }
    return { ms: cost.aMs + cost.bMsPerItem * items, items };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const arrived = clock.now();
    const gone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    const fail = (status: 503 | 504, message: string) => {
      if (gone.signal.aborted) return void res.end(); // the client left: nobody to answer, not counted
      if (status === 503) rejected503++;
      else timedOut++;
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(message);
    };
    change(+1);
    try {
      let pod: Pod | undefined;
      let admitted: ReturnType<Pod['queueProxy']['enter']> = null;
      if (activatorInPath()) {
        const held = await activator.hold(AbortSignal.any([gone.signal, closing.signal]));
        if ('status' in held) return fail(held.status, held.message);
        ({ pod, admitted } = held);
      } else {
        pod = leastLoaded(ready());
        admitted = pod!.queueProxy.enter();
        if (!admitted) return fail(503, QUEUE_FULL_MESSAGE);
      }
      const release = await admitted;
      const { ms, items } = costMs(Buffer.concat(chunks));
      try {
        await clock.sleep(ms, closing.signal);
      } finally {
        release();
      }
      served++;
      const latencyMs = clock.now() - arrived;
      latencies.push(latencyMs);
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ok: true, pod: pod!.id, items, latencyMs: Math.round(latencyMs) }));
    } catch {
      if (!res.writableEnded) fail(503, 'service closing');
    } finally {
      change(-1);
    }
  }

  for (let i = 0; i < initialScale; i++) addPod(true);
  const sampler = clock.setInterval(sample, sampleMs / 4);
  const ticker = clock.setInterval(decide, tickMs);

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  let closed: Promise<void> | undefined;

  return {
    url: `http://${host}:${port}`,
    port,
    clock,
    snapshot,
    timeline: () => history.slice(),
    close: () => (closed ??= shutdown()),
  };

  async function shutdown(): Promise<void> {
    clearInterval(sampler);
    clearInterval(ticker);
    for (const p of pods) clearTimeout(p.startTimer);
    closing.abort(new Error('service closing'));
    activator.failAll({ status: 503, message: 'service closing' });
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
