import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { Partitioners, type Admin, type Producer } from 'kafkajs';
import type { Gauge } from 'prom-client';
import { createKafka, resolveConfig, startDispatcher, type Logger, type RunningDispatcher } from '../../src/index.js';
import type { Timeline, TimelineRow } from '../chart/timeline.js';
import { createClock, startKnativeService, type Clock, type EmulatedService } from '../knative/index.js';
import { articleValue, nanosecondClock } from '../loadgen/article.js';
import { runPacer, type Clock as PacerClock } from '../loadgen/pacer.js';
import { scheduleOf } from '../loadgen/shapes.js';
import { loadDurationS, PRESETS, scenarioPodsNeeded, type Scenario } from './scenario.js';

export interface SimulationResult {
  scenario: Scenario;
  timeline: Timeline;
  summary: SimulationSummary;
}

export interface SimulationSummary {
  produced: number;
  /** Records the emulated service answered 2xx (duplicates included). */
  served: number;
  /** Records the dispatchers finished as delivered. */
  delivered: number;
  deadLettered: number;
  skipped: number;
  rejected503: number;
  /** 503s per request the service answered. */
  rejectedShare: number;
  peakPods: number;
  /** Pods ready at the end of the load (mean over its last 10 s). */
  podsAtLoadEnd: number;
  /** Ready + starting pods integrated from the start of the load to 45 s after it. */
  podSeconds: number;
  /** Ready + starting pods, mean over the same window as `podSeconds`. */
  podsMean: number;
  /** A step load: how soon after its last step the pods and the lag followed. */
  step?: StepSummary;
  /** Seconds after the load ended until the lag was 0 (undefined: not within the run). */
  lagZeroAfterS: number | undefined;
  /** The most requests the service held at once (executing, queued, held by the activator). */
  peakSinkConcurrency: number;
  panicSeconds: number;
  /** Real seconds the run took. */
  tookS: number;
}

export interface StepSummary {
  /** Scenario seconds from the start of the load to the last step. */
  atS: number;
  /** Pods the last step's rate needs (Knative's target: ⌈rate × latency ÷ (0.7 × containerConcurrency)⌉). */
  podsNeeded: number;
  /** Seconds after the step until that many pods were ready (undefined: never). */
  podsReachedAfterS: number | undefined;
  /** Seconds after the step until the records waiting (the lag beyond those in flight) were back within one second's worth. */
  lagSettledAfterS: number | undefined;
}

export interface SimulateOptions {
  brokers: string[];
  logger: Logger;
  /** Told of every scenario second. */
  onSecond?: (row: TimelineRow, scenario: Scenario) => void;
  signal?: AbortSignal;
}

/**
 * Runs a scenario on the real broker, real dispatchers (in this process, one consumer group) and the
 * emulated Knative Service, and samples one timeline row per scenario second. Cleans up after itself:
 * its topic is deleted at the end.
 */
export async function simulate(scenario: Scenario, options: SimulateOptions): Promise<SimulationResult> {
  const started = performance.now();
  // The pacer's sleeps and the dispatchers' waits listen on the one signal.
  if (options.signal) setMaxListeners(1000, options.signal);
  const clock = createClock(scenario.speed);
  const topic = `sim-${scenario.name}-${scenario.ordering}-${randomUUID().slice(0, 8)}`;
  const group = `${topic}-group`;
  const kafka = createKafka(
    { brokers: options.brokers, clientId: 'kafka-dispatch-simulate' } as Parameters<typeof createKafka>[0],
    options.logger,
  );
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const closers: Array<() => Promise<unknown>> = [];
  try {
    await admin.connect();
    closers.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic, numPartitions: scenario.partitions }], waitForLeaders: true });
    closers.push(() => admin.deleteTopics({ topics: [topic] }));
    await producer.connect();
    closers.push(() => producer.disconnect());

    const warmUpTopic = await warmUp(options, admin, producer);
    // Deleted with the run's own topic: the producer would ask for a deleted topic's metadata for ever.
    closers.push(() => admin.deleteTopics({ topics: [warmUpTopic] }));

    const service = await startKnativeService({
      containerConcurrency: scenario.containerConcurrency,
      minScale: scenario.minScale,
      maxScale: scenario.maxScale,
      initialScale: scenario.initialScale,
      podStartMs: scenario.podStartS * 1000,
      cost: scenario.cost ?? { kind: 'fixed', latencyMs: scenario.latencyMs },
      ...(scenario.targetBurstCapacity !== undefined ? { kpa: { targetBurstCapacity: scenario.targetBurstCapacity } } : {}),
      clock,
    });
    closers.push(() => service.close());

    const dispatchers: RunningDispatcher[] = [];
    closers.push(() => Promise.all(dispatchers.map((d) => d.stop(2000))));
    for (let i = 0; i < scenario.replicas; i++) {
      dispatchers.push(
        await startDispatcher(dispatcherSettings(scenario, options.brokers, topic, group, service.url), { logger: options.logger }),
      );
    }
    await waitUntil(() => dispatchers.every((d) => d.isReady()), 60_000, 'the dispatchers to join their group');

    const sampler = new Sampler(scenario, service, dispatchers, admin, topic, group);
    const schedule = scheduleOf(scenario.load);
    const keyOf = nanosecondClock();
    let produced = 0;
    const loadStartS = clock.now() / 1000;
    const load = runPacer({
      schedule,
      clock: pacerClock(clock),
      maxInFlight: 32,
      send: async (first, count) => {
        const messages = Array.from({ length: count }, (_, j) => ({ key: String(keyOf()), value: articleValue(first + j) }));
        await producer.send({ topic, messages });
        produced += count;
      },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const loadEndS = loadStartS + loadDurationS(scenario.load);
    const rows: TimelineRow[] = [];
    const deadline = loadEndS + scenario.tailS;
    let loadDone = false;
    void load.then(() => (loadDone = true));
    for (let second = Math.ceil(loadStartS); !options.signal?.aborted; second++) {
      await clock.sleep(Math.max(0, second * 1000 - clock.now()));
      const row = await sampler.sample(second - loadStartS, produced);
      rows.push(row);
      options.onSecond?.(row, scenario);
      if (clock.now() / 1000 >= deadline && loadDone) break;
    }
    await load;
    const timeline: Timeline = {
      title: `${scenario.name}: ORDERING=${scenario.ordering}, ${scenario.concurrencyLimit === 'fixed' ? `MAX_IN_FLIGHT=${scenario.maxInFlight}` : `CONCURRENCY_LIMIT=${scenario.concurrencyLimit}`}${(scenario.batchMaxRecords ?? 1) > 1 ? `, BATCH_MAX_RECORDS=${scenario.batchMaxRecords}` : ''}, ${scenario.partitions} partitions`,
      rows,
      notes: [scenario.description, `speed ×${scenario.speed}: the chart is in scenario seconds`],
    };
    const summary = summarize(rows, dispatchers, service, produced, loadEndS - loadStartS, started);
    const step = stepSummary(scenario, rows);
    return { scenario, timeline, summary: step ? { ...summary, step } : summary };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {});
  }
}

/**
 * A fresh process runs its first requests tens of real milliseconds slow (code not yet compiled).
 * Compressed time multiplies that: at speed 5 a 25 ms start-up cost reads as a 1.12 s request
 * instead of 1 s, and the dispatcher sizes its in-flight by the latency it sees. A real sink sees
 * the same 25 ms on 1 s (2.5 %), so the run first sends a few hundred records through a dispatcher of
 * its own to a service of its own, on a topic of its own.
 */
async function warmUp(options: SimulateOptions, admin: Admin, producer: Producer): Promise<string> {
  const topic = `sim-warm-up-${randomUUID().slice(0, 8)}`;
  const records = 300;
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  const service = await startKnativeService({ containerConcurrency: 0, minScale: 1, maxScale: 1, cost: { kind: 'fixed', latencyMs: 1 } });
  let dispatcher: RunningDispatcher | undefined;
  try {
    const warm: Scenario = { ...PRESETS.article!, speed: 1, ordering: 'key', concurrencyLimit: 'fixed' };
    dispatcher = await startDispatcher(dispatcherSettings(warm, options.brokers, topic, `${topic}-group`, service.url), {
      logger: options.logger,
    });
    await producer.send({ topic, messages: Array.from({ length: records }, (_, i) => ({ key: String(i), value: articleValue(i) })) });
    await waitUntil(() => service.snapshot().served >= records, 30_000, 'the warm-up records to be served');
  } finally {
    await dispatcher?.stop(2000);
    await service.close();
  }
  return topic;
}

/** The dispatcher's configuration, as a user would set it, with the scenario's durations compressed. */
function dispatcherSettings(scenario: Scenario, brokers: string[], topic: string, group: string, sinkUrl: string) {
  const seconds = (s: number) => String(s / scenario.speed);
  return resolveConfig({
    env: {
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPICS: topic,
      KAFKA_GROUP: group,
      KAFKA_INITIAL_OFFSET: 'earliest',
      K_SINK: sinkUrl,
      ORDERING: scenario.ordering,
      MAX_IN_FLIGHT: String(scenario.maxInFlight),
      MAX_IN_FLIGHT_PER_PARTITION: String(scenario.maxInFlightPerPartition),
      CONCURRENCY_LIMIT: scenario.concurrencyLimit,
      REQUEST_TIMEOUT: seconds(scenario.requestTimeoutS),
      RETRY_COUNT: String(scenario.retryCount),
      BACKOFF_DELAY: seconds(0.3),
      COMMIT_INTERVAL: '0.2',
      LAG_INTERVAL: seconds(5),
      BACKLOG_DRAIN: seconds(scenario.backlogDrainS ?? 30),
      ...(scenario.backlogDrainShare !== undefined ? { BACKLOG_DRAIN_SHARE: String(scenario.backlogDrainShare) } : {}),
      METRICS_PORT: '0',
      ...(scenario.batchMaxRecords !== undefined
        ? { BATCH_MAX_RECORDS: String(scenario.batchMaxRecords), BATCH_MAX_WAIT: seconds(0.1) }
        : {}),
    },
  }).settings;
}

/** The pacer's clock in scenario time: the load's schedule stays the scenario's. */
function pacerClock(clock: Clock): PacerClock {
  return { now: () => clock.now(), sleep: (ms, signal) => clock.sleep(ms, signal).catch(() => {}) };
}

class Sampler {
  private lastProduced = 0;
  private lastServed = 0;
  private last503 = 0;

  constructor(
    private readonly scenario: Scenario,
    private readonly service: EmulatedService,
    private readonly dispatchers: RunningDispatcher[],
    private readonly admin: ReturnType<ReturnType<typeof createKafka>['admin']>,
    private readonly topic: string,
    private readonly group: string,
  ) {}

  async sample(t: number, produced: number): Promise<TimelineRow & { sinkConcurrency: number; podsStarting: number }> {
    const snapshot = this.service.snapshot();
    const [lag, inFlight, limit, demand, oldestS] = await Promise.all([
      this.lag(),
      this.sum((d) => d.metrics.inFlight),
      this.sum((d) => d.metrics.inFlightLimit),
      this.max((d) => d.metrics.demand),
      this.max((d) => d.metrics.groupLagSeconds as unknown as Gauge),
    ]);
    const totals = this.dispatchers.map((d) => d.metrics.totals);
    const row = {
      t: Math.round(t),
      produced: produced - this.lastProduced,
      delivered: snapshot.served - this.lastServed,
      lag,
      // The dispatchers' own age of the oldest unfinished record, in real seconds: scenario seconds here.
      lagSeconds: lag === 0 ? 0 : Math.round((oldestS ?? 0) * this.scenario.speed * 10) / 10,
      inFlight,
      inFlightLimit: limit,
      ...(demand !== undefined ? { demand } : {}),
      podsReady: snapshot.podsReady,
      podsDesired: snapshot.desiredPods,
      panic: snapshot.inPanic,
      rejected503: snapshot.rejected503 - this.last503,
      deadLettered: totals.reduce((sum, x) => sum + x.deadLettered, 0),
      skipped: totals.reduce((sum, x) => sum + x.skipped, 0),
      sinkConcurrency: snapshot.concurrency,
      podsStarting: snapshot.podsStarting,
    };
    this.lastProduced = produced;
    this.lastServed = snapshot.served;
    this.last503 = snapshot.rejected503;
    return row;
  }

  private async lag(): Promise<number> {
    const [ends, committed] = await Promise.all([
      this.admin.fetchTopicOffsets(this.topic),
      this.admin.fetchOffsets({ groupId: this.group, topics: [this.topic] }),
    ]);
    const byPartition = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []);
    return ends.reduce((sum, p) => sum + Math.max(0, Number(p.high) - Math.max(0, byPartition.get(p.partition) ?? 0)), 0);
  }

  private async sum(gauge: (d: RunningDispatcher) => Gauge): Promise<number> {
    const values = await Promise.all(this.dispatchers.map(async (d) => (await gauge(d).get()).values[0]?.value ?? 0));
    return values.reduce((a, b) => a + b, 0);
  }

  /** The largest sample of a gauge (over its labels too) across the dispatchers. */
  private async max(gauge: (d: RunningDispatcher) => Gauge): Promise<number | undefined> {
    const values = await Promise.all(this.dispatchers.map(async (d) => (await gauge(d).get()).values.map((v) => v.value)));
    const known = values.flat();
    return known.length === 0 ? undefined : Math.max(...known);
  }
}

function summarize(
  rows: Array<TimelineRow & { sinkConcurrency?: number; podsStarting?: number }>,
  dispatchers: RunningDispatcher[],
  service: EmulatedService,
  produced: number,
  loadS: number,
  started: number,
): SimulationSummary {
  const snapshot = service.snapshot();
  const totals = dispatchers.map((d) => d.metrics.totals);
  const lastLoad = rows.filter((r) => r.t >= loadS - 10 && r.t < loadS);
  const zero = rows.find((r) => r.t >= loadS && r.lag === 0);
  const answered = snapshot.served + snapshot.rejected503 + snapshot.timedOut;
  const window = rows.filter((r) => r.t <= loadS + 45);
  return {
    produced,
    served: snapshot.served,
    delivered: totals.reduce((sum, x) => sum + x.delivered, 0),
    deadLettered: totals.reduce((sum, x) => sum + x.deadLettered, 0),
    skipped: totals.reduce((sum, x) => sum + x.skipped, 0),
    rejected503: snapshot.rejected503,
    rejectedShare: answered === 0 ? 0 : snapshot.rejected503 / answered,
    peakPods: Math.max(0, ...rows.map((r) => r.podsReady)),
    podsAtLoadEnd: lastLoad.length === 0 ? 0 : lastLoad.reduce((sum, r) => sum + r.podsReady, 0) / lastLoad.length,
    podSeconds: podSeconds(window),
    podsMean: window.length === 0 ? 0 : podSeconds(window) / window.length,
    lagZeroAfterS: zero ? zero.t - loadS : undefined,
    peakSinkConcurrency: Math.max(0, ...rows.map((r) => r.sinkConcurrency ?? 0)),
    panicSeconds: rows.filter((r) => r.panic).length,
    tookS: (performance.now() - started) / 1000,
  };
}

function podSeconds(rows: Array<TimelineRow & { podsStarting?: number }>): number {
  return rows.reduce((sum, r) => sum + r.podsReady + (r.podsStarting ?? 0), 0);
}

function stepSummary(scenario: Scenario, rows: TimelineRow[]): StepSummary | undefined {
  if (scenario.load.kind !== 'step' || scenario.load.steps.length < 2) return undefined;
  const steps = scenario.load.steps;
  const last = steps.at(-1)!;
  const atS = steps.slice(0, -1).reduce((sum, s) => sum + s.durationS, 0);
  const endS = atS + last.durationS;
  const podsNeeded = Math.ceil(scenarioPodsNeeded(scenario, last.rate) - 1e-9);
  const reached = rows.find((r) => r.t >= atS && r.podsReady >= podsNeeded);
  const during = rows.filter((r) => r.t >= atS && r.t <= endS);
  // The lag counts the records in flight too (a second's worth at 1 s a request): what waits is the
  // rest. Back under one second's worth: the first second after the step's backlog peaked.
  const waiting = (r: TimelineRow) => r.lag - r.inFlight;
  const peak = during.reduce((top, r, i) => (waiting(r) > waiting(during[top]!) ? i : top), 0);
  const settled = during.slice(peak).find((r) => waiting(r) <= last.rate);
  return {
    atS,
    podsNeeded,
    podsReachedAfterS: reached ? reached.t - atS : undefined,
    lagSettledAfterS: settled ? settled.t - atS : undefined,
  };
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > until) throw new Error(`simulate: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
