/**
 * `npm run bench [-- flags]`: kafka-dispatch's throughput, CPU, latency and memory against a local
 * broker and a trivial sink in its own process, each measured against its bound. Prints a table and
 * writes `bench/results/<YYYY-MM-DD>.json`. Targets are reported (pass column), never enforced: the
 * process exits 0 whatever they say, 1 only when the benchmark itself could not run.
 *
 * Flags: see HELP below (`npm run bench -- --help`).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { DEFAULTS, type Ordering } from '../src/index.js';
import { KAFKA_VERSION, LocalBroker } from '../tools/broker/local-broker.js';
import {
  benchSettings,
  consumerLimit,
  createTopic,
  deleteTopics,
  dispatchInProcess,
  DispatcherProcess,
  httpLimit,
  kafkaClient,
  memoryOf,
  nowMs,
  prefill,
  RateProducer,
  SinkProcess,
  IMAGE_NODE_OPTIONS,
  type DispatchRun,
  type Throughput,
} from './lib.js';
import { batchBound, batchingRun, GPU_COST, type BatchingRun } from './batching.js';

const SCENARIOS = [
  'consumer',
  'http',
  'unordered',
  'key',
  'ordered',
  'ordered-pl',
  'key-kl',
  'latency',
  'rss',
  'soak',
  'scaling',
  'consumers',
  'batching',
] as const;
type Scenario = (typeof SCENARIOS)[number];

/** Targets of the issue (reported, not enforced). */
const TARGETS = {
  dispatchVsBound: 0.8,
  batchingVsBound: 0.8,
  cpuVsRaw: 1.25,
  orderedVsPL: 0.9,
  keyVsKL: 0.9,
  p99Ms: 10,
  peakRssMb: 150,
};
/** Distinct keys of the prefilled throughput topics (key mode runs on them too). */
const THROUGHPUT_KEYS = 1024;

interface Params {
  records: number;
  size: number;
  partitions: number;
  latencyMs: number;
  keys: number;
  plRecords: number;
  klRecords: number;
  latencySeconds: number;
  latencyRate: number;
  latencyTickMs: number;
  backlog: number;
  rssCapSeconds: number;
  soakSeconds: number;
  soakRate: number;
  scalePartitions: number[];
  batchSizes: number[];
  batchSeconds: number;
  scaleSizes: number[];
  consumers: number[];
  capSeconds: number;
  maxInFlight: number;
  childNodeOptions: string[];
  quick: boolean;
  only: Scenario[] | undefined;
}

interface Row {
  scenario: string;
  value: string;
  bound: string;
  ratio: string;
  pass: string;
}

const HELP = `usage: npm run bench [-- flags]

Flags (defaults in brackets; \`--quick\` shrinks them for a smoke run of under a minute):
  --records N            records per throughput run [100000]
  --size BYTES           record value size [100]
  --partitions P         partitions of the throughput, ordered-P/L, latency and RSS topics [12]
  --latency-ms L         sink latency of the ordered-P/L and key-K/L runs, ms [20]
  --keys K               keys of the key-K/L run [64]
  --pl-records N         records per partition in the ordered-P/L run [150]
  --kl-records N         records per key in the key-K/L run [100]
  --latency-seconds S    measured window of the latency run [10]
  --latency-rate R       records/s of the latency run [half the measured unordered throughput]
  --latency-tick-ms T    the latency run's producer sends what is due every T ms (timestamped at the send) [20]
  --backlog N            records of the peak-RSS run [1000000]
  --rss-cap-seconds S    time cap of the peak-RSS run [90]
  --soak-seconds S       length of the RSS-growth run, 0 = off [0]
  --soak-rate R          records/s produced during the soak [1000]
  --scale-partitions L   partitions of the scaling runs [1,12,96]
  --scale-sizes L        record sizes of the scaling runs, bytes (others than --size at 12 partitions, N/10 records) [100,10240]
  --batch-sizes L        BATCH_MAX_RECORDS of the batching runs, against a GPU-like sink (80 ms + 2.5 ms per item, 2 at once) [1,8,32]
  --batch-seconds S      records of each batching run: its bound × S [10]
  --cap-seconds S        time cap of every other run [120]
  --child-node-options S node options of the dispatcher child process (latency, RSS, soak) [the Docker image's NODE_OPTIONS: --max-old-space-size=192 --max-semi-space-size=16; "" for Node's defaults]
  --consumers L          CONSUMERS of the consumers runs (kafka-dispatch run as a child, unordered, the main topic) [1,2]
  --only A,B             run a subset: consumer, http, unordered, key, ordered, ordered-pl, key-kl, latency, rss, soak, scaling, consumers, batching
  --brokers H:P          use a running broker instead of starting the local one
  --port N               port of the local broker started for the run [29492] (controller port + 1)
  --out FILE             where the JSON goes [bench/results/<date>.json; -quick / -only-… suffixes for partial runs]
  --quick                tiny smoke run
`;

function parse(argv: string[]): { params: Params; brokers: string | undefined; port: number; out: string | undefined } {
  const { values } = parseArgs({
    args: argv,
    options: {
      records: { type: 'string' },
      size: { type: 'string' },
      partitions: { type: 'string' },
      'latency-ms': { type: 'string' },
      keys: { type: 'string' },
      'pl-records': { type: 'string' },
      'kl-records': { type: 'string' },
      'latency-seconds': { type: 'string' },
      'latency-rate': { type: 'string' },
      'latency-tick-ms': { type: 'string' },
      backlog: { type: 'string' },
      'rss-cap-seconds': { type: 'string' },
      'soak-seconds': { type: 'string' },
      'soak-rate': { type: 'string' },
      'scale-partitions': { type: 'string' },
      'scale-sizes': { type: 'string' },
      'batch-sizes': { type: 'string' },
      'batch-seconds': { type: 'string' },
      consumers: { type: 'string' },
      'cap-seconds': { type: 'string' },
      'child-node-options': { type: 'string' },
      only: { type: 'string' },
      brokers: { type: 'string' },
      port: { type: 'string' },
      out: { type: 'string' },
      quick: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  const num = (name: string, text: string | undefined, fallback: number, min = 0): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, got "${text}"`);
    return n;
  };
  const list = (name: string, text: string | undefined, fallback: number[]): number[] =>
    text === undefined ? fallback : text.split(',').map((s) => num(name, s.trim(), 0, 1));
  let only: Scenario[] | undefined;
  if (values.only) {
    only = values.only.split(',').map((s) => s.trim()) as Scenario[];
    const unknown = only.filter((s) => !SCENARIOS.includes(s));
    if (unknown.length > 0) throw new Error(`--only: unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
  }
  const records = Math.floor(num('records', values.records, quick ? 5000 : 100_000, 1));
  const params: Params = {
    records,
    size: Math.floor(num('size', values.size, 100, 1)),
    partitions: Math.floor(num('partitions', values.partitions, 12, 1)),
    latencyMs: num('latency-ms', values['latency-ms'], 20, 1),
    keys: Math.floor(num('keys', values.keys, 64, 1)),
    plRecords: Math.floor(num('pl-records', values['pl-records'], quick ? 30 : 150, 1)),
    klRecords: Math.floor(num('kl-records', values['kl-records'], quick ? 20 : 100, 1)),
    latencySeconds: num('latency-seconds', values['latency-seconds'], quick ? 3 : 10, 1),
    latencyRate: num('latency-rate', values['latency-rate'], 0),
    latencyTickMs: num('latency-tick-ms', values['latency-tick-ms'], 20, 1),
    backlog: Math.floor(num('backlog', values.backlog, quick ? 50_000 : 1_000_000, 1)),
    rssCapSeconds: num('rss-cap-seconds', values['rss-cap-seconds'], quick ? 30 : 90, 1),
    soakSeconds: num('soak-seconds', values['soak-seconds'], 0),
    soakRate: num('soak-rate', values['soak-rate'], 1000, 1),
    scalePartitions: list('scale-partitions', values['scale-partitions'], [1, 12, 96]),
    scaleSizes: list('scale-sizes', values['scale-sizes'], [100, 10_240]),
    batchSizes: list('batch-sizes', values['batch-sizes'], [1, 8, 32]).map(Math.floor),
    batchSeconds: num('batch-seconds', values['batch-seconds'], quick ? 3 : 10, 1),
    consumers: list('consumers', values.consumers, [1, 2]),
    capSeconds: num('cap-seconds', values['cap-seconds'], quick ? 60 : 120, 1),
    maxInFlight: DEFAULTS.maxInFlight,
    // The image ships with a heap cap (Dockerfile NODE_OPTIONS): measure the dispatcher as deployed.
    childNodeOptions: (values['child-node-options'] ?? IMAGE_NODE_OPTIONS).split(/\s+/).filter(Boolean),
    quick,
    only,
  };
  return { params, brokers: values.brokers, port: Math.floor(num('port', values.port, 29492, 1)), out: values.out };
}

// ---------------------------------------------------------------------------------------------
// Formatting.

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const fixed = (n: number | null | undefined, digits = 1) =>
  n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(0)}%` : 'n/a');
const passAtLeast = (ratio: number, target: number) => (Number.isFinite(ratio) ? (ratio >= target ? 'PASS' : 'FAIL') : '–');
const passAtMost = (value: number, target: number) => (Number.isFinite(value) ? (value <= target ? 'PASS' : 'FAIL') : '–');
const log = (text: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

function table(rows: Row[]): string {
  const header: Row = { scenario: 'scenario', value: 'value', bound: 'bound / target', ratio: 'ratio', pass: 'pass' };
  const all = [header, ...rows];
  const keys = ['scenario', 'value', 'bound', 'ratio', 'pass'] as const;
  const width = Object.fromEntries(keys.map((k) => [k, Math.max(...all.map((r) => r[k].length))])) as Record<(typeof keys)[number], number>;
  const line = (r: Row) =>
    keys
      .map((k) => (k === 'scenario' ? r[k].padEnd(width[k]) : k === 'pass' ? r[k] : r[k].padStart(width[k])))
      .join('  ')
      .trimEnd();
  return [line(header), keys.map((k) => '-'.repeat(width[k])).join('  '), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const started = nowMs();
  const { params, brokers: brokersFlag, port, out } = parse(process.argv.slice(2));
  const selected = (s: Scenario) => (params.only ? params.only.includes(s) : s !== 'soak' || params.soakSeconds > 0);
  const rows: Row[] = [];
  const results: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  const runId = `kd-bench-${Date.now().toString(36)}`;
  const topics: string[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];

  let broker: LocalBroker | undefined;
  let brokers: string;
  let kafkaVersion: string;
  if (brokersFlag) {
    brokers = brokersFlag;
    kafkaVersion = 'external broker (version not queried)';
  } else {
    broker = new LocalBroker({ port, controllerPort: port + 1 });
    log(`starting the local Kafka broker on 127.0.0.1:${port}…`);
    const result = await broker.start();
    brokers = result.brokers;
    kafkaVersion = broker.version;
    log(`broker ${brokers} ${result.startedByUs ? 'started' : 'already running (left running)'}`);
    if (result.startedByUs) cleanups.push(() => broker!.stop());
  }
  const brokerList = brokers.split(',');
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('interrupted: cleaning up (again to exit at once)');
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let cleaned = false;
  async function cleanup(): Promise<void> {
    if (cleaned) return;
    cleaned = true;
    for (const c of cleanups.reverse()) await c().catch((error: unknown) => log(`cleanup failed: ${(error as Error).message}`));
  }
  try {
    return await scenarios();
  } finally {
    await cleanup();
  }

  async function scenarios(): Promise<number> {
    const kafka: Kafka = kafkaClient(brokerList);
    const admin: Admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    // Runs before the admin disconnects (cleanups run in reverse).
    cleanups.push(() => deleteTopics(admin, topics));
    // One producer per topic: a kafkajs producer keeps refreshing metadata of every topic it ever
    // wrote to, and fails once one of them is deleted.
    const withProducer = async <T>(fn: (producer: Producer) => Promise<T>): Promise<T> => {
      const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
      await producer.connect();
      try {
        return await fn(producer);
      } finally {
        await producer.disconnect().catch(() => {});
      }
    };
    const sink = await SinkProcess.start();
    cleanups.push(() => sink.stop());
    log(`sink process pid ${sink.pid} on ${sink.url}`);

    const cap = params.capSeconds * 1000;
    let topicSeq = 0;
    const newTopic = async (label: string, partitions: number) => {
      const topic = `${runId}-${++topicSeq}-${label}`;
      await createTopic(admin, topic, partitions);
      topics.push(topic);
      return topic;
    };
    const dropTopic = async (topic: string) => {
      await deleteTopics(admin, [topic]);
      topics.splice(topics.indexOf(topic), 1);
    };
    const prefilled = async (label: string, records: number, size: number, partitions: number, keys: number, json = false) => {
      const topic = await newTopic(label, partitions);
      const seconds = await withProducer((producer) => prefill(producer, { topic, records, size, partitions, keys, json }));
      log(`prefilled ${topic}: ${int(records)} × ${size} B on ${partitions} partitions in ${fixed(seconds)} s`);
      return topic;
    };
    const attempt = async (name: string, fn: () => Promise<void>) => {
      if (interrupted) return;
      const t0 = nowMs();
      log(`${name}…`);
      try {
        await fn();
        log(`${name} done in ${fixed((nowMs() - t0) / 1000)} s`);
      } catch (error) {
        errors[name] = (error as Error).stack ?? String(error);
        rows.push({ scenario: name, value: `error: ${(error as Error).message}`.slice(0, 80), bound: '', ratio: '', pass: 'ERROR' });
        log(`${name} failed: ${(error as Error).message}`);
      }
    };
    const dispatchRow = (label: string, run: DispatchRun) =>
      `${int(run.perSecond)} rec/s${run.complete ? '' : ` (capped: ${int(run.records)} of the records)`}`;

    // --- consumer and HTTP limits, the one-process bound ------------------------------------------
    const needsMainTopic =
      (['consumer', 'unordered', 'key', 'ordered', 'consumers'] as Scenario[]).some(selected) ||
      (selected('scaling') && params.scalePartitions.includes(params.partitions));
    const mainTopic = needsMainTopic ? await prefilled('main', params.records, params.size, params.partitions, THROUGHPUT_KEYS) : undefined;
    const connections = Math.min(params.maxInFlight, 256);
    let consumer: Throughput | undefined;
    let http: Throughput | undefined;
    const httpBySize = new Map<number, Throughput>();
    const bound = () => (consumer && http ? 1 / (1 / consumer.perSecond + 1 / http.perSecond) : NaN);
    const rawCpu = () => (consumer && http ? consumer.cpuMicrosPerRecord + http.cpuMicrosPerRecord : NaN);

    if (selected('consumer')) {
      await attempt('consumer limit', async () => {
        consumer = await consumerLimit(kafka, mainTopic!, params.records, cap);
        results.consumerLimit = consumer;
        rows.push({
          scenario: `consumer limit (kafkajs, no-op, P=${params.partitions}, ${params.size} B)`,
          value: `${int(consumer.perSecond)} rec/s`,
          bound: '',
          ratio: '',
          pass: '',
        });
        rows.push({
          scenario: '  consumer CPU per record',
          value: `${fixed(consumer.cpuMicrosPerRecord, 2)} µs`,
          bound: '',
          ratio: '',
          pass: '',
        });
      });
    }
    if (selected('http')) {
      await attempt('HTTP limit', async () => {
        http = await httpLimit(sink.url, {
          requests: params.records,
          size: params.size,
          connections,
          concurrency: params.maxInFlight,
          capMs: cap,
        });
        httpBySize.set(params.size, http);
        results.httpLimit = { ...http, connections, concurrency: params.maxInFlight };
        rows.push({
          scenario: `HTTP limit (undici, ${params.maxInFlight} in flight, ${params.size} B)`,
          value: `${int(http.perSecond)} req/s`,
          bound: '',
          ratio: '',
          pass: '',
        });
        rows.push({ scenario: '  HTTP CPU per request', value: `${fixed(http.cpuMicrosPerRecord, 2)} µs`, bound: '', ratio: '', pass: '' });
      });
    }
    if (consumer && http) {
      results.oneProcessBound = { perSecond: bound(), rawCpuMicrosPerRecord: rawCpu() };
      rows.push({ scenario: 'one-process bound 1/(1/C+1/H)', value: `${int(bound())} rec/s`, bound: '', ratio: '', pass: '' });
      rows.push({ scenario: '  raw CPU per record (C+H)', value: `${fixed(rawCpu(), 2)} µs`, bound: '', ratio: '', pass: '' });
    }

    // --- kafka-dispatch in each ordering mode ------------------------------------------------------
    const dispatchRuns: Partial<Record<Ordering, DispatchRun>> = {};
    results.dispatch = dispatchRuns;
    for (const mode of ['unordered', 'key', 'ordered'] as const) {
      if (!selected(mode)) continue;
      await attempt(`dispatch ${mode}`, async () => {
        await sink.reset();
        const run = await dispatchInProcess(benchSettings(brokerList, mainTopic!, sink.url, mode), params.records, cap);
        const sinkStats = await sink.stats();
        dispatchRuns[mode] = { ...run, sinkCount: sinkStats.count, sinkMaxConcurrency: sinkStats.maxConcurrency } as DispatchRun;
        const ratio = run.perSecond / bound();
        const cpuRatio = run.cpuMicrosPerRecord / rawCpu();
        const targeted = mode !== 'ordered';
        rows.push({
          scenario: `kafka-dispatch ${mode} (P=${params.partitions}, ${params.size} B)`,
          value: dispatchRow(mode, run),
          bound: Number.isFinite(bound()) ? `${int(bound())} rec/s${targeted ? ` (≥ ${pct(TARGETS.dispatchVsBound)})` : ''}` : 'n/a',
          ratio: pct(ratio),
          pass: targeted ? passAtLeast(ratio, TARGETS.dispatchVsBound) : '–',
        });
        rows.push({
          scenario: `  ${mode} CPU per record`,
          value: `${fixed(run.cpuMicrosPerRecord, 2)} µs`,
          bound: Number.isFinite(rawCpu()) ? `${fixed(rawCpu(), 2)} µs${targeted ? ` (≤ ${TARGETS.cpuVsRaw}×)` : ''}` : 'n/a',
          ratio: Number.isFinite(cpuRatio) ? `${fixed(cpuRatio, 2)}×` : 'n/a',
          pass: targeted ? passAtMost(cpuRatio, TARGETS.cpuVsRaw) : '–',
        });
        if (run.failed > 0) log(`dispatch ${mode}: ${run.failed} records did not reach the sink`);
      });
    }

    /**
     * A run against a sink that holds each request L ms, where at most `parallel` requests can be
     * open: the bound is parallel / L, and parallel / (the hold the sink measured) beside it.
     */
    const slowSinkRun = async (o: {
      name: 'ordered-pl' | 'key-kl';
      label: string;
      mode: Ordering;
      partitions: number;
      keys: number;
      records: number;
      parallel: number;
      boundText: string;
      target: number;
      overrides?: Parameters<typeof benchSettings>[4];
    }) => {
      const topic = await prefilled(o.name, o.records, params.size, o.partitions, o.keys);
      await sink.setLatency(params.latencyMs);
      await sink.reset();
      try {
        const run = await dispatchInProcess(benchSettings(brokerList, topic, sink.url, o.mode, o.overrides), o.records, cap);
        const stats = await sink.stats();
        const limit = (o.parallel / params.latencyMs) * 1000;
        const ratio = run.perSecond / limit;
        const effective = stats.meanHoldMs ? (o.parallel / stats.meanHoldMs) * 1000 : NaN;
        rows.push({
          scenario: o.label,
          value: dispatchRow(o.mode, run),
          bound: `${o.boundText}/L = ${int(limit)} rec/s (≥ ${pct(o.target)})`,
          ratio: pct(ratio),
          pass: passAtLeast(ratio, o.target),
        });
        rows.push({
          scenario: `  sink held ${fixed(stats.meanHoldMs, 2)} ms on average`,
          value: '',
          bound: `${o.boundText}/held = ${int(effective)} rec/s`,
          ratio: pct(run.perSecond / effective),
          pass: '',
        });
        return {
          ...run,
          latencyMs: params.latencyMs,
          bound: limit,
          sinkMeanHoldMs: stats.meanHoldMs,
          boundWithMeasuredHold: effective,
          sinkMaxConcurrency: stats.maxConcurrency,
        };
      } finally {
        await sink.setLatency(0);
        await dropTopic(topic);
      }
    };

    // --- batching: BATCH_MAX_RECORDS against a GPU-like sink (a + b·n per request) ----------------------
    if (selected('batching')) {
      const runs: BatchingRun[] = [];
      results.batching = { cost: GPU_COST, runs };
      for (const n of params.batchSizes) {
        await attempt(`batching ${n}`, async () => {
          const records = Math.max(4 * n, Math.ceil(batchBound(n) * params.batchSeconds));
          const topic = await prefilled(`batching-${n}`, records, params.size, params.partitions, THROUGHPUT_KEYS, true);
          try {
            const run = await batchingRun({ brokers: brokerList, topic, records, sink, batchMaxRecords: n, capMs: cap });
            runs.push(run);
            const ratio = run.perSecond / run.bound;
            const single = runs.find((r) => r.batchMaxRecords === 1);
            rows.push({
              scenario: `batching, BATCH_MAX_RECORDS=${n}, GPU-like sink`,
              value: dispatchRow('unordered', run),
              bound: `${int(run.bound)} rec/s (≥ ${pct(TARGETS.batchingVsBound)})`,
              ratio: pct(ratio),
              pass: passAtLeast(ratio, TARGETS.batchingVsBound),
            });
            rows.push({
              scenario: `  ${fixed(run.meanBatch)} records a request; pods for 50 rec/s`,
              value: fixed(run.podsForArticle),
              bound: single && n !== 1 ? `${fixed(single.podsForArticle)} one a request` : '',
              ratio: single && n !== 1 ? `${fixed(run.perSecond / single.perSecond)}× rec/s` : '',
              pass: '',
            });
          } finally {
            await dropTopic(topic);
          }
        });
      }
    }

    // --- ordered: P partitions, sink latency L ------------------------------------------------------
    if (selected('ordered-pl')) {
      await attempt('ordered P/L', async () => {
        const P = params.partitions;
        const run = await slowSinkRun({
          name: 'ordered-pl',
          label: `ordered, P=${P}, sink ${params.latencyMs} ms`,
          mode: 'ordered',
          partitions: P,
          keys: P,
          records: P * params.plRecords,
          parallel: P,
          boundText: 'P',
          target: TARGETS.orderedVsPL,
          // The ordering cap is what is measured: the demand limit would pace this small backlog on purpose.
          overrides: { concurrencyLimit: 'fixed' },
        });
        results.orderedPL = { ...run, partitions: P };
      });
    }

    // --- key: one partition, K keys, sink latency L ---------------------------------------------------
    if (selected('key-kl')) {
      await attempt('key K/L', async () => {
        const K = params.keys;
        const inFlight = params.maxInFlight;
        const run = await slowSinkRun({
          name: 'key-kl',
          label: `key, 1 partition, K=${K}, sink ${params.latencyMs} ms`,
          mode: 'key',
          partitions: 1,
          keys: K,
          records: K * params.klRecords,
          parallel: Math.min(K, inFlight),
          boundText: `min(K,${inFlight})`,
          target: TARGETS.keyVsKL,
          overrides: { concurrencyLimit: 'fixed', maxInFlight: inFlight, maxInFlightPerPartition: Math.max(inFlight, K) },
        });
        results.keyKL = { ...run, keys: K, maxInFlight: inFlight };
      });
    }

    // --- added latency at half load ------------------------------------------------------------------
    if (selected('latency')) {
      await attempt('latency at half load', async () => {
        let rate = params.latencyRate;
        let basis = '--latency-rate';
        if (!(rate > 0)) {
          if (!dispatchRuns.unordered) {
            if (!mainTopic) throw new Error('no unordered throughput to halve: add unordered to --only or pass --latency-rate');
            const run = await dispatchInProcess(benchSettings(brokerList, mainTopic, sink.url, 'unordered'), params.records, cap);
            dispatchRuns.unordered = run;
          }
          rate = Math.max(1, Math.round(dispatchRuns.unordered.perSecond / 2));
          basis = '½ unordered max';
        }
        const P = params.partitions;
        const topic = await newTopic('latency', P);
        await sink.reset();
        const child = DispatcherProcess.start(
          {
            KAFKA_BROKERS: brokers,
            KAFKA_TOPICS: topic,
            KAFKA_GROUP: `${topic}-group`,
            KAFKA_INITIAL_OFFSET: 'earliest',
            K_SINK: sink.url,
            ORDERING: 'unordered',
          },
          params.childNodeOptions,
        );
        // Baseline: a raw kafkajs consumer in its own process on the same records at the same time.
        const rawConsumer = await SinkProcess.start('consumer-process.js', {
          BENCH_BROKERS: brokers,
          BENCH_TOPIC: topic,
          BENCH_GROUP: `${topic}-raw`,
          BENCH_MAX_BYTES_PER_PARTITION: String(DEFAULTS.fetchMaxBytesPerPartition),
        });
        const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
        await producer.connect();
        const rp = new RateProducer(producer, topic, { rate, size: params.size, partitions: P, tickMs: params.latencyTickMs });
        try {
          rp.start();
          // Warm-up: until the dispatcher has joined and caught up with the producer (less than
          // 100 ms of records behind), then 1 s more; after 30 s (10 s with --quick), measure anyway and say so.
          const warmSeconds = params.quick ? 10 : 30;
          const warmDeadline = nowMs() + warmSeconds * 1000;
          let caughtUp = false;
          let behind = NaN;
          while (nowMs() < warmDeadline) {
            await sleep(200);
            if (!child.running) throw new Error(`the dispatcher exited: ${child.output}`);
            const stats = await sink.stats();
            behind = rp.sent - stats.count;
            if (stats.count > 0 && behind <= Math.max(10, rate * 0.1)) {
              caughtUp = true;
              break;
            }
          }
          if (!caughtUp)
            log(`latency: the dispatcher did not catch up within ${warmSeconds} s (${int(behind)} records behind); measuring anyway`);
          await sleep(1000);
          await sink.reset();
          await rawConsumer.reset();
          rp.takeAckStats();
          const sent0 = rp.sent;
          const cpu0 = cpuOfPid(child.pid);
          const t0 = nowMs();
          await sleep(params.latencySeconds * 1000);
          const produced = rp.sent - sent0;
          const seconds = (nowMs() - t0) / 1000;
          const acks = rp.takeAckStats();
          await rp.stop();
          await sleep(500);
          const cpu1 = cpuOfPid(child.pid);
          const stats = await sink.stats();
          const raw = await rawConsumer.stats();
          const achieved = produced / seconds;
          results.latency = {
            targetRate: rate,
            basis,
            achievedRate: achieved,
            seconds,
            produced,
            received: stats.count,
            caughtUpBeforeMeasuring: caughtUp,
            tickMs: params.latencyTickMs,
            produceAckMs: acks,
            recordsBehindAtWarmupEnd: behind,
            dispatcherCpuMicrosPerRecord: stats.count > 0 ? ((cpu1 - cpu0) * 1e6) / stats.count : NaN,
            latencyMs: { p50: stats.p50, p90: stats.p90, p99: stats.p99, p999: stats.p999, max: stats.max, mean: stats.mean },
            rawConsumerLatencyMs: { received: raw.count, p50: raw.p50, p90: raw.p90, p99: raw.p99, max: raw.max },
          };
          rows.push({
            scenario: '  baseline: raw kafkajs consumer p50 / p99',
            value: `${fixed(raw.p50, 2)} / ${fixed(raw.p99, 2)} ms`,
            bound: '',
            ratio: '',
            pass: '',
          });
          rows.push({
            scenario: '  producer: send → ack (mean / max)',
            value: `${fixed(acks.meanMs, 2)} / ${fixed(acks.maxMs, 1)} ms`,
            bound: '',
            ratio: '',
            pass: '',
          });
          rows.push({
            scenario: `added latency p50 @ ${int(achieved)} rec/s (${basis})`,
            value: `${fixed(stats.p50, 2)} ms`,
            bound: caughtUp ? '' : 'never caught up',
            ratio: '',
            pass: '',
          });
          rows.push({
            scenario: `added latency p99 @ ${int(achieved)} rec/s`,
            value: `${fixed(stats.p99, 2)} ms`,
            bound: `< ${TARGETS.p99Ms} ms`,
            ratio: '',
            pass: stats.p99 === null ? '–' : stats.p99 < TARGETS.p99Ms ? 'PASS' : 'FAIL',
          });
          if (achieved < rate * 0.95) log(`latency: the producer reached only ${int(achieved)} of ${int(rate)} rec/s`);
        } finally {
          await rp.stop();
          await producer.disconnect().catch(() => {});
          await rawConsumer.stop();
          await child.stop();
          await dropTopic(topic);
        }
      });
    }

    // --- peak RSS with a backlog -----------------------------------------------------------------------
    // Twice: with the image's heap cap, and with Node's defaults (the issue's target), where V8 lets
    // garbage grow with the machine's memory.
    const rssVariants: { label: string; nodeOptions: string[] }[] = [
      { label: 'image NODE_OPTIONS', nodeOptions: params.childNodeOptions },
      ...(params.childNodeOptions.length > 0 ? [{ label: "Node's defaults", nodeOptions: [] }] : []),
    ];
    for (const variant of selected('rss') ? rssVariants : []) {
      await attempt(`peak RSS with backlog (${variant.label})`, async () => {
        const P = params.partitions;
        const topic = await prefilled('rss', params.backlog, params.size, P, THROUGHPUT_KEYS);
        await sink.reset();
        const child = DispatcherProcess.start(
          {
            KAFKA_BROKERS: brokers,
            KAFKA_TOPICS: topic,
            KAFKA_GROUP: `${topic}-group-${variant.nodeOptions.length > 0 ? 'capped' : 'defaults'}`,
            KAFKA_INITIAL_OFFSET: 'earliest',
            K_SINK: sink.url,
            ORDERING: 'unordered',
          },
          variant.nodeOptions,
        );
        let maxRss = 0;
        const samples: number[] = [];
        const sampler = setInterval(() => {
          const m = memoryOf(child.pid);
          if (!m) return;
          samples.push(m.rssMb);
          maxRss = Math.max(maxRss, m.rssMb);
        }, 100);
        const t0 = nowMs();
        let delivered = 0;
        let hwm: number;
        let cpu: number;
        try {
          while (nowMs() - t0 < params.rssCapSeconds * 1000) {
            await sleep(1000);
            if (!child.running) throw new Error(`the dispatcher exited: ${child.output}`);
            delivered = (await sink.stats()).count;
            if (delivered >= params.backlog) break;
          }
          const m = memoryOf(child.pid);
          hwm = m?.hwmMb ?? NaN;
          cpu = cpuOfPid(child.pid);
        } finally {
          clearInterval(sampler);
          await child.stop();
          await dropTopic(topic);
        }
        const seconds = (nowMs() - t0) / 1000;
        const peak = Number.isFinite(hwm) ? Math.max(hwm, maxRss) : maxRss;
        const sorted = [...samples].sort((a, b) => a - b);
        results[variant.nodeOptions.length > 0 ? 'peakRss' : 'peakRssNodeDefaults'] = {
          nodeOptions: variant.nodeOptions.join(' '),
          backlog: params.backlog,
          size: params.size,
          partitions: P,
          ordering: 'unordered',
          delivered,
          complete: delivered >= params.backlog,
          seconds,
          recordsPerSecond: delivered / seconds,
          peakRssMb: peak,
          vmHwmMb: hwm,
          maxSampledRssMb: maxRss,
          medianRssMb: sorted[Math.floor(sorted.length / 2)] ?? NaN,
          cpuMicrosPerRecord: delivered > 0 ? (cpu * 1e6) / delivered : NaN,
        };
        rows.push({
          scenario: `peak RSS, backlog ${int(params.backlog)} × ${params.size} B, ${variant.label}`,
          value: `${fixed(peak)} MB`,
          bound: `< ${TARGETS.peakRssMb} MB`,
          ratio: '',
          pass: peak < TARGETS.peakRssMb ? 'PASS' : 'FAIL',
        });
        rows.push({
          scenario: '  backlog delivered in the run',
          value: `${int(delivered)} in ${fixed(seconds)} s`,
          bound: delivered >= params.backlog ? 'all' : `cap ${params.rssCapSeconds} s`,
          ratio: pct(delivered / params.backlog),
          pass: '',
        });
      });
    }

    // --- soak: RSS growth --------------------------------------------------------------------------------
    if (selected('soak') && params.soakSeconds > 0) {
      await attempt('soak', async () => {
        const P = params.partitions;
        const topic = await newTopic('soak', P);
        await sink.reset();
        const child = DispatcherProcess.start(
          {
            KAFKA_BROKERS: brokers,
            KAFKA_TOPICS: topic,
            KAFKA_GROUP: `${topic}-group`,
            KAFKA_INITIAL_OFFSET: 'earliest',
            K_SINK: sink.url,
            ORDERING: 'unordered',
          },
          params.childNodeOptions,
        );
        const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
        await producer.connect();
        const rp = new RateProducer(producer, topic, { rate: params.soakRate, size: params.size, partitions: P });
        const samples: Array<{ t: number; rssMb: number }> = [];
        const t0 = nowMs();
        try {
          rp.start();
          while (nowMs() - t0 < params.soakSeconds * 1000) {
            await sleep(1000);
            if (!child.running) throw new Error(`the dispatcher exited: ${child.output}`);
            const m = memoryOf(child.pid);
            if (m) samples.push({ t: (nowMs() - t0) / 1000, rssMb: m.rssMb });
          }
        } finally {
          await rp.stop();
          await producer.disconnect().catch(() => {});
        }
        const delivered = (await sink.stats()).count;
        await child.stop();
        await dropTopic(topic);
        const window = Math.min(60, params.soakSeconds / 4);
        const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
        const first = avg(samples.filter((s) => s.t <= window).map((s) => s.rssMb));
        const last = avg(samples.filter((s) => s.t >= params.soakSeconds - window).map((s) => s.rssMb));
        results.soak = {
          seconds: params.soakSeconds,
          rate: params.soakRate,
          produced: rp.sent,
          delivered,
          windowSeconds: window,
          firstWindowRssMb: first,
          lastWindowRssMb: last,
          growthMb: last - first,
          samples,
        };
        rows.push({
          scenario: `RSS growth over ${params.soakSeconds} s @ ${int(params.soakRate)} rec/s`,
          value: `${last - first >= 0 ? '+' : ''}${fixed(last - first)} MB`,
          bound: `${fixed(first)} → ${fixed(last)} MB (${window} s windows)`,
          ratio: '',
          pass: '',
        });
      });
    }

    // --- scaling with partitions and record size ---------------------------------------------------------
    if (selected('scaling')) {
      const points: Array<{ partitions: number; size: number; records: number }> = [];
      for (const P of params.scalePartitions) points.push({ partitions: P, size: params.size, records: params.records });
      for (const S of params.scaleSizes) {
        if (S === params.size) continue;
        points.push({ partitions: params.partitions, size: S, records: Math.max(100, Math.floor(params.records / 10)) });
      }
      const scaling: unknown[] = [];
      results.scaling = scaling;
      for (const point of points) {
        const label = `P=${point.partitions}, ${point.size >= 1024 ? `${fixed(point.size / 1024, 0)} KB` : `${point.size} B`}`;
        await attempt(`scaling ${label}`, async () => {
          const isMain = point.partitions === params.partitions && point.size === params.size && point.records === params.records;
          let c: Throughput | undefined = isMain ? consumer : undefined;
          let run: DispatchRun | undefined = isMain ? dispatchRuns.unordered : undefined;
          let topic: string | undefined;
          try {
            if (!c || !run) {
              topic =
                isMain && mainTopic
                  ? mainTopic
                  : await prefilled(
                      `scale-p${point.partitions}-s${point.size}`,
                      point.records,
                      point.size,
                      point.partitions,
                      THROUGHPUT_KEYS,
                    );
              c ??= await consumerLimit(kafka, topic, point.records, cap);
              await sink.reset();
              run ??= await dispatchInProcess(benchSettings(brokerList, topic, sink.url, 'unordered'), point.records, cap);
            }
            let h = httpBySize.get(point.size);
            if (!h) {
              h = await httpLimit(sink.url, {
                requests: point.records,
                size: point.size,
                connections,
                concurrency: params.maxInFlight,
                capMs: cap,
              });
              httpBySize.set(point.size, h);
            }
            const b = 1 / (1 / c.perSecond + 1 / h.perSecond);
            const raw = c.cpuMicrosPerRecord + h.cpuMicrosPerRecord;
            scaling.push({ ...point, consumer: c, http: h, bound: b, rawCpuMicrosPerRecord: raw, dispatch: run });
            rows.push({
              scenario: `scaling unordered ${label}`,
              value: `${int(run.perSecond)} rec/s`,
              bound: `${int(b)} rec/s (C ${int(c.perSecond)}, H ${int(h.perSecond)})`,
              ratio: pct(run.perSecond / b),
              pass: '',
            });
            rows.push({
              scenario: `  CPU per record ${label}`,
              value: `${fixed(run.cpuMicrosPerRecord, 2)} µs`,
              bound: `${fixed(raw, 2)} µs (C ${fixed(c.cpuMicrosPerRecord, 2)} + H ${fixed(h.cpuMicrosPerRecord, 2)})`,
              ratio: `${fixed(run.cpuMicrosPerRecord / raw, 2)}×`,
              pass: '',
            });
          } finally {
            if (topic && topic !== mainTopic) await dropTopic(topic);
          }
        });
      }
    }

    // --- CONSUMERS: members in one pod ------------------------------------------------------------------
    // `kafka-dispatch run` as it ships, CONSUMERS=1 then 2…, each a fresh group on the same prefilled
    // topic. Measured from the moment /readyz says every member joined (so the join and its rebalance
    // stay out) to the last record: records/s, CPU of the whole process tree per record, and how busy
    // the machine's cores were (the broker and the sink share them).
    if (selected('consumers') && mainTopic) {
      const runs: unknown[] = [];
      results.consumers = runs;
      for (const n of params.consumers) {
        await attempt(`consumers ${n}`, async () => {
          await sink.reset();
          const metricsPort = await freePort();
          const child = DispatcherProcess.start(
            {
              KAFKA_BROKERS: brokers,
              KAFKA_TOPICS: mainTopic,
              KAFKA_GROUP: `${mainTopic}-consumers-${n}-${Date.now().toString(36)}`,
              KAFKA_INITIAL_OFFSET: 'earliest',
              K_SINK: sink.url,
              ORDERING: 'unordered',
              CONSUMERS: String(n),
              METRICS_PORT: String(metricsPort),
            },
            params.childNodeOptions,
          );
          try {
            const begun = nowMs();
            const ready = async () =>
              fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
                (r) => r.status === 200,
                () => false,
              );
            while (!(await ready())) {
              if (!child.running) throw new Error(`the dispatcher exited: ${child.output}`);
              if (nowMs() - begun > cap) throw new Error('not ready within the cap');
              await sleep(50);
            }
            const t0 = nowMs();
            const count0 = (await sink.stats()).count;
            const cpu0 = cpuOfTree(child.pid);
            const sinkCpu0 = cpuOfPid(sink.pid ?? -1);
            const machine0 = machineCpu();
            let count = count0;
            while (count < params.records && nowMs() - t0 < cap) {
              await sleep(50);
              if (!child.running) throw new Error(`the dispatcher exited: ${child.output}`);
              count = (await sink.stats()).count;
            }
            const t1 = nowMs();
            const cpu1 = cpuOfTree(child.pid);
            const sinkCpu1 = cpuOfPid(sink.pid ?? -1);
            const machine1 = machineCpu();
            const rss = rssOfTree(child.pid);
            const measured = count - count0;
            const seconds = (t1 - t0) / 1000;
            const busy = (machine1.busy - machine0.busy) / (machine1.total - machine0.total);
            const run = {
              consumers: n,
              partitions: params.partitions,
              records: params.records,
              beforeReady: count0,
              measured,
              complete: count >= params.records,
              seconds,
              recordsPerSecond: measured / seconds,
              cpuMicrosPerRecord: measured > 0 ? ((cpu1 - cpu0) * 1e6) / measured : NaN,
              dispatcherCores: (cpu1 - cpu0) / seconds,
              sinkCores: (sinkCpu1 - sinkCpu0) / seconds,
              machineBusy: busy,
              primaryRssMb: rss.primaryMb,
              membersRssMb: rss.childrenMb,
              cores: os.cpus().length,
            };
            runs.push(run);
            rows.push({
              scenario: `consumers ${n} (child, unordered, P=${params.partitions})`,
              value: `${int(run.recordsPerSecond)} rec/s`,
              bound: `${fixed(run.cpuMicrosPerRecord, 1)} µs CPU/rec`,
              ratio: `${fixed(run.dispatcherCores, 2)} cores`,
              pass: '',
            });
            rows.push({
              scenario: `  machine busy during consumers ${n}`,
              value: pct(busy),
              bound: `of ${run.cores} cores (sink ${fixed(run.sinkCores, 2)})`,
              ratio: '',
              pass: '',
            });
            rows.push({
              scenario: `  RSS during consumers ${n}`,
              value: `${fixed(rss.primaryMb + rss.childrenMb)} MB`,
              bound: n > 1 ? `primary ${fixed(rss.primaryMb)} + members ${fixed(rss.childrenMb)}` : '',
              ratio: '',
              pass: '',
            });
          } finally {
            await child.stop();
          }
        });
      }
    }

    const totalSeconds = (nowMs() - started) / 1000;
    await cleanup();

    const printed = table(rows);
    process.stdout.write(`\n${printed}\n\n`);
    const cpus = os.cpus();
    const date = new Date().toISOString().slice(0, 10);
    const suffix = params.quick ? '-quick' : params.only ? `-only-${params.only.join('-')}` : '';
    const file = out ? resolve(out) : fileURLToPath(new URL(`../../bench/results/${date}${suffix}.json`, import.meta.url));
    mkdirSync(dirname(file), { recursive: true });
    const report = {
      date: new Date().toISOString(),
      command: `node ${process.argv.slice(1).join(' ')}`,
      totalSeconds,
      machine: {
        cpuModel: cpus[0]?.model ?? 'unknown',
        cores: cpus.length,
        totalMemoryMb: Math.round(os.totalmem() / 1024 / 1024),
        node: process.version,
        platform: `${os.platform()} ${os.release()} ${os.arch()}`,
        kafka: kafkaVersion,
        kafkaVersionOfThisBuild: KAFKA_VERSION,
        brokers,
      },
      params: {
        ...params,
        fetchMaxBytesPerPartition: DEFAULTS.fetchMaxBytesPerPartition,
        maxBufferedRecords: DEFAULTS.maxBufferedRecords,
        maxInFlightPerPartition: DEFAULTS.maxInFlightPerPartition,
      },
      targets: TARGETS,
      results,
      table: rows,
      ...(Object.keys(errors).length > 0 ? { errors } : {}),
    };
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`results: ${file}\ntotal: ${fixed(totalSeconds)} s\n`);
    // Only a full run stands for the project: quick and partial runs leave the README's table alone.
    if (!params.quick && !params.only && Object.keys(errors).length === 0) {
      const machine = report.machine;
      const stamp =
        `Latest run (${date}; ${machine.cores} cores of ${machine.cpuModel.trim()}, ` +
        `${fixed(machine.totalMemoryMb / 1024, 0)} GB, Node ${machine.node.slice(1)}, Kafka ${machine.kafka}; ` +
        `broker, sink and dispatcher share the cores; \`npm run bench\`, ${fixed(totalSeconds / 60)} minutes):`;
      if (replaceReadmeTable(`${stamp}\n\n\`\`\`\n${printed}\n\`\`\`\n`)) process.stdout.write('README.md: benchmark table updated\n');
    }
    return Object.keys(errors).length === rows.length && rows.length > 0 ? 1 : 0;
  }
}

const README_TABLE_START = '<!-- bench-table:start (written by npm run bench) -->';
const README_TABLE_END = '<!-- bench-table:end -->';

/** Rewrites the README's benchmark table between its markers; false when the README has none. */
function replaceReadmeTable(section: string): boolean {
  const readme = fileURLToPath(new URL('../../README.md', import.meta.url));
  const text = readFileSync(readme, 'utf8');
  const start = text.indexOf(README_TABLE_START);
  const end = text.indexOf(README_TABLE_END);
  if (start < 0 || end < start) return false;
  writeFileSync(readme, `${text.slice(0, start + README_TABLE_START.length)}\n${section}${text.slice(end)}`);
  return true;
}

/** CPU seconds of a process and its children (the members of CONSUMERS > 1), from /proc (Linux). */
function cpuOfTree(pid: number): number {
  let total = cpuOfPid(pid);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) total += cpuOfPid(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** VmRSS of a process and of its children together, MB. */
function rssOfTree(pid: number): { primaryMb: number; childrenMb: number } {
  let childrenMb = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) childrenMb += memoryOf(Number(entry))?.rssMb ?? 0;
    } catch {
      // gone meanwhile
    }
  }
  return { primaryMb: memoryOf(pid)?.rssMb ?? NaN, childrenMb };
}

/** The machine's CPU ticks since boot, busy and total (idle and iowait are not busy), from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = fields[3]! + fields[4]!;
  return { busy: total - idle, total };
}

/** A free TCP port on loopback, for a child's metrics server. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** User + system CPU seconds of a process, from /proc/<pid>/stat (Linux). */
function cpuOfPid(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100;
  } catch {
    return NaN;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
