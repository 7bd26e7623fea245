import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, createLogger, DispatchError, resolveConfig, type Ordering } from '../../src/index.js';
import { LocalBroker } from '../broker/local-broker.js';
import { waitForKafka } from '../broker/wait.js';
import { renderComparisonSvg, renderTimelineSvg, timelineToCsv, timelineToJson } from '../chart/index.js';
import type { Shape } from '../loadgen/shapes.js';
import { simulate, type SimulationResult, type StepSummary } from '../simulate/run.js';
import { loadDurationS, meanRate, PRESETS, scenarioPodsNeeded, type Scenario } from '../simulate/scenario.js';

const NAME = 'simulate';

export const USAGE = `usage: node build/tools/cli.js simulate [--preset NAME] [options]   (npm run simulate -- ...)

Runs a scenario on a real broker, real dispatchers and an emulated Knative Service (its autoscaler,
activator and queue-proxy), and writes a timeline (CSV, JSON) and a chart (SVG) of lag, in-flight
and pods per second. Time is compressed (--speed): a 100 s scenario at speed 10 takes about 10 s.

  --preset NAME             article (default) | step | scale-from-zero | gpu | gpu-batched
  --kafkasource FILE        take the dispatcher's settings (ordering, in-flight limits, request timeout,
                            retries) from a KafkaSource manifest, as \`run --kafkasource\` would
  --compare                 run the scenario in ORDERING=ordered and in ORDERING=key, one chart side by side
  --compare-batch N         run the scenario one record a request and with BATCH_MAX_RECORDS=N, one chart
                            side by side (gpu: the batch cost shows the pods batching saves)
  --batch-max-records N     the dispatcher's BATCH_MAX_RECORDS (gpu-batched: 8; 1: off)
  --ordering MODE           ordered | key | unordered (article: ordered, the product's default)
  --partitions N            topic partitions (article: 12)
  --replicas N              dispatcher instances in one group (default 1)
  --max-in-flight N         MAX_IN_FLIGHT (default 256)
  --concurrency-limit MODE  fixed | adaptive | demand (default demand, the dispatcher's)
  --container-concurrency N the service's containerConcurrency (article: 2)
  --min-scale N             (article: 1)
  --max-scale N             (article: 100)
  --initial-scale N         pods ready at the start (article: 1)
  --pod-start SECONDS       from a pod asked for to ready (article: 10)
  --latency MS              the handler's latency per request (article: 1000)
  --request-timeout SECONDS the dispatcher's REQUEST_TIMEOUT (article: 600)
  --rate N --duration S     a constant load instead of the preset's
  --burst N --duration S    N messages at once every second (the article: 50 for 100 s)
  --tail SECONDS            watch after the load (article: 60)
  --backlog-drain SECONDS   BACKLOG_DRAIN with CONCURRENCY_LIMIT=demand (default 30)
  --backlog-drain-share N   BACKLOG_DRAIN_SHARE with CONCURRENCY_LIMIT=demand (default 0.15)
  --target-burst-capacity N Knative's (default 200: the activator stays in the path; 0 takes it out,
                            and queue-proxies answer 503 once full)
  --speed N                 scenario seconds per real second (default 10)
  --out DIR                 where the files go (default build/simulate)
  -h, --help                this text

env: KAFKA_BROKERS (a running broker; else the local one is started from the official jars).`;

const INTEGER = /^\d+$/;
const NUMBER = /^(?:\d+(?:\.\d+)?|\.\d+)$/;

export function parseSimulateArgs(
  argv: string[],
): { scenario: Scenario; compare: boolean; compareBatch: number | undefined; out: string } | { help: true } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      preset: { type: 'string' },
      'backlog-drain-share': { type: 'string' },
      'backlog-drain': { type: 'string' },
      kafkasource: { type: 'string' },
      compare: { type: 'boolean' },
      'compare-batch': { type: 'string' },
      'batch-max-records': { type: 'string' },
      ordering: { type: 'string' },
      partitions: { type: 'string' },
      replicas: { type: 'string' },
      'max-in-flight': { type: 'string' },
      'concurrency-limit': { type: 'string' },
      'container-concurrency': { type: 'string' },
      'min-scale': { type: 'string' },
      'max-scale': { type: 'string' },
      'initial-scale': { type: 'string' },
      'pod-start': { type: 'string' },
      latency: { type: 'string' },
      'request-timeout': { type: 'string' },
      rate: { type: 'string' },
      burst: { type: 'string' },
      duration: { type: 'string' },
      tail: { type: 'string' },
      'target-burst-capacity': { type: 'string' },
      speed: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return { help: true };
  const issues: Array<{ path: string; message: string }> = [];
  const presetName = values.preset ?? 'article';
  const preset = PRESETS[presetName];
  if (!preset) issues.push({ path: '--preset', message: `must be one of ${Object.keys(PRESETS).join(', ')}, got "${presetName}"` });
  const scenario: Scenario = { ...(preset ?? PRESETS.article!) };
  const int = (flag: keyof typeof values, min: number, set: (n: number) => void) => {
    const text = values[flag];
    if (typeof text !== 'string') return;
    if (!INTEGER.test(text) || Number(text) < min)
      issues.push({ path: `--${flag}`, message: `must be an integer of at least ${min}, got "${text}"` });
    else set(Number(text));
  };
  const num = (flag: keyof typeof values, set: (n: number) => void) => {
    const text = values[flag];
    if (typeof text !== 'string') return;
    if (!NUMBER.test(text) || Number(text) <= 0) issues.push({ path: `--${flag}`, message: `must be a number above 0, got "${text}"` });
    else set(Number(text));
  };
  if (values.kafkasource !== undefined) {
    // The manifest's brokers and sink are the cluster's; the simulation brings its own.
    const { settings } = resolveConfig({
      kafkasource: values.kafkasource,
      env: { KAFKA_BROKERS: 'simulated:9092', K_SINK: 'http://simulated/' },
    });
    scenario.ordering = settings.ordering;
    scenario.maxInFlight = settings.maxInFlight;
    scenario.maxInFlightPerPartition = settings.maxInFlightPerPartition;
    scenario.concurrencyLimit = settings.concurrencyLimit;
    scenario.requestTimeoutS = settings.requestTimeoutMs / 1000;
    scenario.retryCount = settings.retry;
    scenario.name = `${scenario.name}-${basename(values.kafkasource).replace(/\.ya?ml$/, '')}`;
  }
  if (values.ordering !== undefined) {
    if (!['ordered', 'key', 'unordered'].includes(values.ordering))
      issues.push({ path: '--ordering', message: `must be ordered, key or unordered, got "${values.ordering}"` });
    else scenario.ordering = values.ordering as Ordering;
  }
  if (values['concurrency-limit'] !== undefined) {
    const mode = values['concurrency-limit'];
    if (mode !== 'fixed' && mode !== 'adaptive' && mode !== 'demand')
      issues.push({ path: '--concurrency-limit', message: `must be fixed, adaptive or demand, got "${mode}"` });
    else scenario.concurrencyLimit = mode;
  }
  int('partitions', 1, (n) => (scenario.partitions = n));
  int('batch-max-records', 1, (n) => (scenario.batchMaxRecords = n));
  let compareBatch: number | undefined;
  int('compare-batch', 2, (n) => (compareBatch = n));
  if (compareBatch !== undefined && values.compare === true)
    issues.push({ path: '--compare-batch', message: 'give --compare or --compare-batch, not both' });
  int('replicas', 1, (n) => (scenario.replicas = n));
  int('max-in-flight', 1, (n) => (scenario.maxInFlight = n));
  int('container-concurrency', 1, (n) => (scenario.containerConcurrency = n));
  int('min-scale', 0, (n) => (scenario.minScale = n));
  int('max-scale', 1, (n) => (scenario.maxScale = n));
  int('initial-scale', 0, (n) => (scenario.initialScale = n));
  num('pod-start', (n) => (scenario.podStartS = n));
  num('latency', (n) => (scenario.latencyMs = n));
  num('request-timeout', (n) => (scenario.requestTimeoutS = n));
  num('tail', (n) => (scenario.tailS = n));
  int('target-burst-capacity', 0, (n) => (scenario.targetBurstCapacity = n));
  num('speed', (n) => (scenario.speed = n));
  num('backlog-drain-share', (n) => (scenario.backlogDrainShare = n));
  num('backlog-drain', (n) => (scenario.backlogDrainS = n));
  let rate: number | undefined;
  let burst: number | undefined;
  let duration: number | undefined;
  num('rate', (n) => (rate = n));
  int('burst', 1, (n) => (burst = n));
  num('duration', (n) => (duration = n));
  if (rate !== undefined && burst !== undefined) issues.push({ path: '--rate', message: 'give --rate or --burst, not both' });
  const durationS = duration ?? (scenario.load.kind === 'step' ? 100 : scenario.load.durationS);
  if (rate !== undefined) scenario.load = { kind: 'constant', rate, durationS } satisfies Shape;
  else if (burst !== undefined) scenario.load = { kind: 'burst', concurrency: burst, durationS } satisfies Shape;
  else if (duration !== undefined && scenario.load.kind !== 'step') scenario.load = { ...scenario.load, durationS };
  if (scenario.minScale > scenario.maxScale)
    issues.push({ path: '--min-scale', message: `must not be above --max-scale (${scenario.maxScale})` });
  if (issues.length > 0) throw new ConfigError(issues);
  return { scenario, compare: values.compare === true, compareBatch, out: values.out ?? join('build', 'simulate') };
}

/** `node build/tools/cli.js simulate`: resolves to the exit code. */
export async function simulateCommand(argv: string[]): Promise<number> {
  const err = (line: string) => process.stderr.write(`${line}\n`);
  let parsed;
  try {
    parsed = parseSimulateArgs(argv);
  } catch (error) {
    err(`${NAME}: ${error instanceof Error ? error.message : String(error)}`);
    if (!(error instanceof ConfigError)) err(USAGE);
    return 2;
  }
  if ('help' in parsed) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { scenario, compareBatch, out } = parsed;
  const compare = parsed.compare || compareBatch !== undefined;
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    let brokers = process.env.KAFKA_BROKERS;
    if (brokers) await waitForKafka(brokers, 30_000);
    else {
      const broker = new LocalBroker({ logger: createLogger({ level: 'warn' }) });
      if (!broker.isInstalled()) err('downloading the Apache Kafka jars from Maven Central (first run only)…');
      const result = await broker.start();
      brokers = result.brokers;
      if (result.startedByUs) cleanups.push(() => broker.stop());
    }
    const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
    const { batchMaxRecords: _batch, ...unbatched } = scenario;
    const runs: Scenario[] = compareBatch
      ? [unbatched, { ...scenario, name: `${scenario.name}-batch-${compareBatch}`, batchMaxRecords: compareBatch }]
      : compare
        ? [
            { ...scenario, ordering: 'ordered' },
            { ...scenario, ordering: scenario.ordering === 'ordered' ? 'key' : scenario.ordering },
          ]
        : [scenario];
    const results: SimulationResult[] = [];
    for (const run of runs) {
      err(
        `${NAME}: ${run.name}, ORDERING=${run.ordering}, speed ×${run.speed} (about ${Math.ceil((loadDurationS(run.load) + run.tailS) / run.speed)} s)`,
      );
      const total = loadDurationS(run.load) + run.tailS;
      results.push(
        await simulate(run, {
          brokers: brokers.split(','),
          logger,
          signal: abort.signal,
          onSecond: (row) => {
            if (process.stderr.isTTY) {
              const done = Math.min(1, row.t / total);
              const bar = '█'.repeat(Math.round(done * 24)).padEnd(24, '░');
              process.stderr.write(
                `\r${bar} t=${row.t}s lag ${row.lag} in-flight ${row.inFlight} pods ${row.podsReady}/${row.podsDesired}${row.panic ? ' PANIC' : ''}   `,
              );
            } else if (row.t % 10 === 0)
              err(
                `t=${row.t}s lag ${row.lag} in-flight ${row.inFlight} pods ${row.podsReady}/${row.podsDesired}${row.panic ? ' panic' : ''}`,
              );
          },
        }),
      );
      if (process.stderr.isTTY) process.stderr.write('\n');
    }
    mkdirSync(out, { recursive: true });
    const base = `${scenario.name}${compareBatch ? '-batch-compare' : compare ? '-compare' : `-${scenario.ordering}`}`;
    for (const result of results) {
      const stem = join(out, `${result.scenario.name}-${result.scenario.ordering}`);
      writeFileSync(`${stem}.csv`, timelineToCsv(result.timeline));
      writeFileSync(
        `${stem}.json`,
        JSON.stringify(
          { scenario: result.scenario, summary: result.summary, timeline: JSON.parse(timelineToJson(result.timeline)) },
          null,
          2,
        ),
      );
      if (!compare) writeFileSync(`${stem}.svg`, renderTimelineSvg(result.timeline));
    }
    if (compare) writeFileSync(join(out, `${base}.svg`), renderComparisonSvg(results[0]!.timeline, results[1]!.timeline));
    for (const result of results) process.stdout.write(`${formatSummary(result)}\n`);
    err(`${NAME}: wrote ${join(out, base)}.svg and the timelines (.csv, .json) in ${out}`);
    return abort.signal.aborted ? 130 : 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    err(`${NAME}: ${error instanceof DispatchError ? `error [${error.code}]: ${message}` : message}`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}

function formatSummary({ scenario, summary }: SimulationResult): string {
  const needed = scenarioPodsNeeded(scenario, meanRate(scenario.load));
  return [
    `${scenario.name}, ORDERING=${scenario.ordering}${scenario.concurrencyLimit === 'fixed' ? `, MAX_IN_FLIGHT=${scenario.maxInFlight}` : `, ${scenario.concurrencyLimit}`}:`,
    `  produced ${summary.produced}, served ${summary.served}, dead-lettered ${summary.deadLettered}, skipped ${summary.skipped}, 503s ${summary.rejected503} (${(summary.rejectedShare * 100).toFixed(2)} %)`,
    `  pods: peak ${summary.peakPods}, mean ${summary.podsMean.toFixed(1)}, at the end of the load ${summary.podsAtLoadEnd.toFixed(1)} (the load needs ${needed.toFixed(1)}), ${Math.round(summary.podSeconds)} pod-seconds to 45 s after the load, ${summary.panicSeconds} s in panic`,
    `  lag back to 0: ${summary.lagZeroAfterS === undefined ? 'not within the run' : `${Math.round(summary.lagZeroAfterS)} s after the load`}; peak sink concurrency ${summary.peakSinkConcurrency}; took ${summary.tookS.toFixed(0)} s`,
    ...(summary.step ? [formatStep(summary.step)] : []),
  ].join('\n');
}

function formatStep(step: StepSummary): string {
  const after = (s: number | undefined) => (s === undefined ? 'not within the load' : `${s} s after it`);
  return `  the step at ${step.atS} s: ${step.podsNeeded} pods ready ${after(step.podsReachedAfterS)}; records waiting (lag beyond those in flight) back within one second's worth ${after(step.lagSettledAfterS)}`;
}
