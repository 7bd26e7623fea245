import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { LocalBroker } from '../broker/local-broker.js';
import { waitForKafka } from '../broker/wait.js';
import { createLogger, DEFAULTS, startDispatcher, type RunningDispatcher, type Settings } from '../../src/index.js';
import { produceLoad } from '../demo/load.js';
import { startDemoSink } from '../demo/sink-server.js';

const USAGE = `usage: node build/tools/cli.js demo [options]        (npm start -- [options])

Starts a local Kafka broker (unless KAFKA_BROKERS is set), the demo sink, the dispatcher and a load
of N messages a second for S seconds in the article's shape; prints progress and a summary.

options:
  --rate N              messages produced per second (default $DEMO_RATE or 20)
  --duration S          seconds of load (default $DEMO_DURATION or 5)
  --partitions N        partitions of the demo topic (default 3)
  --latency-ms N        the demo sink's time per request (default 50)
  --concurrency N       requests the demo sink handles at once, 0 = unlimited (default 2)
  --ordering MODE       ordered | unordered | key (default ordered)
  --keep-broker         leave the local broker running afterwards (default: stop it if started here)
  -h, --help            this text

env: KAFKA_BROKERS (a running broker instead of the local one), DEMO_RATE, DEMO_DURATION,
     LOG_LEVEL (default warn here)`;

interface DemoOptions {
  rate: number;
  duration: number;
  partitions: number;
  latencyMs: number;
  concurrency: number;
  ordering: Settings['ordering'];
  keepBroker: boolean;
}

function parseDemoArgs(argv: string[], env: NodeJS.ProcessEnv): DemoOptions | string {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        rate: { type: 'string' },
        duration: { type: 'string' },
        partitions: { type: 'string' },
        'latency-ms': { type: 'string' },
        concurrency: { type: 'string' },
        ordering: { type: 'string' },
        'keep-broker': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    return (error as Error).message;
  }
  if (values.help) return '';
  const problems: string[] = [];
  const int = (name: string, text: string | undefined, fallback: number, min: number) => {
    if (text === undefined || text === '') return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) problems.push(`${name} must be an integer ≥ ${min}, got "${text}"`);
    return n;
  };
  const ordering = values.ordering ?? 'ordered';
  if (!['ordered', 'unordered', 'key'].includes(ordering)) problems.push(`--ordering must be ordered, unordered or key, got "${ordering}"`);
  const options: DemoOptions = {
    rate: int(values.rate !== undefined ? '--rate' : 'DEMO_RATE', values.rate ?? env.DEMO_RATE, 20, 1),
    duration: int(values.duration !== undefined ? '--duration' : 'DEMO_DURATION', values.duration ?? env.DEMO_DURATION, 5, 1),
    partitions: int('--partitions', values.partitions, 3, 1),
    latencyMs: int('--latency-ms', values['latency-ms'], 50, 0),
    concurrency: int('--concurrency', values.concurrency, 2, 0),
    ordering: ordering as Settings['ordering'],
    keepBroker: values['keep-broker'] ?? false,
  };
  return problems.length > 0 ? problems.join('\n') : options;
}

/**
 * `npm start`: the whole pipeline on one machine with nothing configured. Exit 0 when every
 * produced message was delivered and the demo sink counted each one.
 */
export async function demoCommand(argv: string[]): Promise<number> {
  const parsed = parseDemoArgs(argv, process.env);
  if (typeof parsed === 'string') {
    if (!parsed) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    process.stderr.write(`kafka-dispatch demo: ${parsed}\n${USAGE}\n`);
    return 2;
  }
  const options = parsed;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
  const abort = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    out('\ninterrupted: stopping the load, the dispatcher, the sink and the broker…');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    let brokers = process.env.KAFKA_BROKERS;
    if (brokers) {
      out(`broker: ${brokers} (from KAFKA_BROKERS)`);
      await waitForKafka(brokers, 30_000);
    } else {
      const broker = new LocalBroker({ logger: createLogger({ level: 'info' }) });
      if (!broker.isInstalled()) out(`downloading Apache Kafka ${broker.version} jars from Maven Central (first run only)…`);
      const started = Date.now();
      const result = await broker.start();
      brokers = result.brokers;
      out(
        `broker: ${brokers} (local Apache Kafka ${broker.version}, ${result.startedByUs ? `started in ${((Date.now() - started) / 1000).toFixed(1)} s` : 'already running'})`,
      );
      if (result.startedByUs && !options.keepBroker) cleanups.push(() => broker.stop());
    }
    if (abort.signal.aborted) return 130;

    const sink = await startDemoSink({ port: 0, latencyMs: options.latencyMs, concurrency: options.concurrency });
    cleanups.push(() => sink.close());
    out(`demo sink: ${sink.url}/predict (latency ${options.latencyMs} ms, concurrency ${options.concurrency || 'unlimited'})`);

    const runId = `${Date.now().toString(36)}`;
    const topic = `kafka-dispatch-demo-${runId}`;
    const groupId = `kafka-dispatch-demo-${runId}`;
    const kafka = new Kafka({ clientId: 'kafka-dispatch-demo', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic, numPartitions: options.partitions }], waitForLeaders: true });
    cleanups.push(() => admin.deleteTopics({ topics: [topic] }).catch(() => {}));

    const settings: Settings = {
      ...DEFAULTS,
      brokers: brokers.split(','),
      topics: [topic],
      groupId,
      initialOffset: 'earliest',
      sinkUri: `${sink.url}/predict?query=music`,
      // The article's routing: the gateway's address, the service's domain in the Host header.
      sinkHost: 'test-ai-process.default.svc.cluster.local',
      requestTimeoutMs: 60_000,
      retry: 5,
      backoffPolicy: 'fixed',
      backoffDelayMs: 2000,
      ordering: options.ordering,
      commitIntervalMs: 1000,
      metricsPort: 0,
    };
    const dispatcher: RunningDispatcher = await startDispatcher(settings, { logger });
    cleanups.push(() => dispatcher.stop(10_000));
    await waitUntil(() => dispatcher.isReady() || abort.signal.aborted, 30_000);
    out(`dispatcher: group ${groupId}, ${options.ordering} delivery, topic ${topic} (${options.partitions} partitions)`);
    out(`load: ${options.rate} messages/s for ${options.duration} s`);

    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    cleanups.push(() => producer.disconnect());

    const started = Date.now();
    let produced = 0;
    const totals = dispatcher.metrics.totals;
    const lag = async () => {
      const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
      const done = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []);
      return ends.reduce((sum, p) => sum + Number(p.high) - Math.max(0, done.get(p.partition) ?? 0), 0);
    };
    const tty = process.stdout.isTTY;
    const progress = async () => {
      const line = `  ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s  produced ${produced}  delivered ${totals.delivered}  failed ${totals.skipped + totals.discarded}  lag ${await lag().catch(() => '?')}`;
      if (tty) process.stdout.write(`\r${line}\x1b[K`);
      else out(line);
    };
    const ticker = setInterval(() => void progress(), 1000);
    try {
      produced = await produceLoad({
        producer,
        topic,
        rate: options.rate,
        durationSeconds: options.duration,
        signal: abort.signal,
        onSent: (n) => (produced = n),
      });
      await waitUntil(() => totals.delivered + totals.skipped + totals.discarded >= produced || abort.signal.aborted, 60_000);
    } finally {
      clearInterval(ticker);
    }
    await progress();
    if (tty) process.stdout.write('\n');
    const elapsed = (Date.now() - started) / 1000;
    await dispatcher.stop(10_000);
    const stats = sink.stats();
    const remainingLag = await lag().catch(() => -1);
    const ok = !abort.signal.aborted && produced > 0 && totals.delivered === produced && stats.answered === produced && remainingLag === 0;
    out('summary:');
    out(
      `  produced ${produced}, delivered ${totals.delivered}, demo sink answered ${stats.answered} (rejected ${stats.rejected}), failed ${totals.skipped + totals.discarded}, lag ${remainingLag}`,
    );
    out(
      `  intents: ${
        Object.entries(stats.byIntent)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none'
      }; Host headers: ${Object.keys(stats.byHost).join(', ') || 'none'}`,
    );
    out(`  ${elapsed.toFixed(1)} s, ${(totals.delivered / elapsed).toFixed(1)} records/s, sink max concurrency ${stats.maxInFlight}`);
    out(ok ? 'result: OK, every produced message was delivered exactly as counted by the sink' : 'result: MISMATCH, see the counts above');
    return interrupted ? 130 : ok ? 0 : 1;
  } catch (error) {
    process.stderr.write(`kafka-dispatch demo: ${(error as Error).message}\n`);
    return 1;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}
