import { Partitioners, type Admin, type Producer } from 'kafkajs';
import { ConfigError, createKafka, createLogger, DispatchError } from '../../src/index.js';
import { articleValue, nanosecondClock } from '../loadgen/article.js';
import { parseLoadgenArgs, USAGE, type LoadgenOptions } from '../loadgen/options.js';
import { runPacer } from '../loadgen/pacer.js';
import { startProgress } from '../loadgen/progress.js';
import { describeShape, scheduleOf } from '../loadgen/shapes.js';
import { formatSummary, LatencyRecorder, summarize } from '../loadgen/summary.js';

const NAME = 'kafka-dispatch loadgen';

/** `node build/tools/cli.js loadgen --topic T [options]`: the article's producer. Resolves to the exit code. */
export async function loadgenCommand(argv: string[]): Promise<number> {
  let options: LoadgenOptions;
  try {
    const parsed = parseLoadgenArgs(argv, process.env);
    if (parsed === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    options = parsed;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${NAME}: ${error.message}\n\nrun 'node build/tools/cli.js loadgen --help' for the options\n`);
      return 2;
    }
    throw error;
  }

  const err = (line: string) => process.stderr.write(`${line}\n`);
  const abort = new AbortController();
  const onSignal = () => {
    if (abort.signal.aborted) process.exit(130);
    err('\ninterrupted: waiting for the requests in flight, then the summary (Ctrl-C again exits at once)');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', format: 'json', destination: process.stderr });
  const kafka = createKafka(
    {
      brokers: options.brokers,
      clientId: 'kafka-dispatch-loadgen',
      saslMechanism: options.sasl?.mechanism,
      saslUsername: options.sasl?.username,
      saslPassword: options.sasl?.password,
      tlsEnabled: options.tls !== undefined,
      tlsCaCert: options.tls?.ca,
      tlsCert: undefined,
      tlsKey: undefined,
    },
    logger,
  );
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const ready = await ensureTopic(admin, options, err);
    if (ready !== true) {
      err(`${NAME}: ${ready}`);
      return 1;
    }
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    if (abort.signal.aborted) return 130;

    const schedule = scheduleOf(options.shape);
    const shape = describeShape(options.shape);
    err(`loadgen: ${shape} → ${options.topic} on ${options.brokers.join(',')} (${schedule.total} messages, acks ${options.acks})`);
    const latencies = new LatencyRecorder();
    let sent = 0;
    let failed = 0;
    let lastError: string | undefined;
    const keyOf = nanosecondClock();
    const started = performance.now();
    const stopProgress = startProgress(
      () => ({ sent, failed, target: schedule.total, elapsedMs: performance.now() - started, totalMs: schedule.durationMs }),
      process.stderr,
    );
    let result;
    try {
      result = await runPacer({
        schedule,
        maxInFlight: options.maxInFlight,
        maxBatch: options.maxBatch,
        signal: abort.signal,
        send: async (first, count) => {
          const messages = Array.from({ length: count }, (_, j) => ({
            key: String(keyOf()),
            value: articleValue(first + j, options.valueBytes),
          }));
          const t0 = performance.now();
          try {
            await send(producer, options, messages);
            latencies.add(performance.now() - t0, count);
            sent += count;
          } catch (error) {
            failed += count;
            lastError = error instanceof Error ? error.message : String(error);
            throw error;
          }
        },
      });
    } finally {
      stopProgress();
    }
    if (lastError) err(`last produce error: ${lastError}`);
    const summary = summarize({
      topic: options.topic,
      shape,
      target: schedule.total,
      scheduleMs: schedule.durationMs,
      sent,
      failed,
      elapsedMs: result.elapsedMs,
      maxLateMs: result.maxLateMs,
      latencies,
      interrupted: result.aborted,
    });
    process.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : `${formatSummary(summary)}\n`);
    return result.aborted ? 130 : failed > 0 ? 1 : 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    err(`${NAME}: ${error instanceof DispatchError ? `error [${error.code}]: ${message}` : message}`);
    return 1;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function send(producer: Producer, options: LoadgenOptions, messages: Array<{ key: string; value: string }>) {
  return producer.send({ topic: options.topic, acks: options.acks, messages });
}

/** true when the topic is there (created with --partitions when missing), else what is wrong. */
async function ensureTopic(admin: Admin, options: LoadgenOptions, err: (line: string) => void): Promise<true | string> {
  const topics = await admin.listTopics();
  if (!topics.includes(options.topic)) {
    if (options.partitions === undefined)
      return `topic "${options.topic}" does not exist; pass --partitions N to create it with N partitions`;
    await admin.createTopics({ topics: [{ topic: options.topic, numPartitions: options.partitions }], waitForLeaders: true });
    err(`created topic ${options.topic} with ${options.partitions} partitions`);
    return true;
  }
  if (options.partitions !== undefined) {
    const metadata = await admin.fetchTopicMetadata({ topics: [options.topic] });
    const count = metadata.topics[0]?.partitions.length ?? 0;
    if (count !== options.partitions)
      err(`topic ${options.topic} already exists with ${count} partitions, not ${options.partitions}: using it as it is`);
  }
  return true;
}
