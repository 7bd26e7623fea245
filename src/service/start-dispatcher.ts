import { setMaxListeners } from 'node:events';
import Bottleneck from 'bottleneck';
import type { Admin, Kafka } from 'kafkajs';
import type { Settings } from '../config/settings.js';
import { encodeCloudEvent, type CloudEventContext } from '../dispatch/cloudevents.js';
import { encodeRaw } from '../dispatch/encode.js';
import { ListenerSet, type DispatchListener } from '../dispatch/outcome.js';
import { SinkRecovery } from '../dispatch/sink-recovery.js';
import { RecordDispatcher, type RecordProducer } from '../dispatch/record-dispatcher.js';
import { Scheduler } from '../dispatch/scheduler.js';
import { OffsetManager } from '../offsets/offset-manager.js';
import { startHealthServer } from '../server/health-server.js';
import { HttpSender } from '../sink/http-sender.js';
import type { Sender } from '../sink/sender.js';
import { TokenFile } from '../sink/token-file.js';
import { createKafka } from '../source/kafka-client.js';
import { DemandEstimator } from '../telemetry/demand.js';
import { inFlightLimit } from './in-flight-limit.js';
import { orderedCeiling } from './scaling-advice.js';
import { KafkaSource } from '../source/kafka-source.js';
import type { KafkaRecord } from '../source/record.js';
import { LagCollector } from '../telemetry/lag-collector.js';
import { loggingListener } from '../telemetry/log-listener.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { DispatchMetrics } from '../telemetry/metrics.js';
import { OtelRecordTracer } from '../telemetry/tracing.js';
import { Backpressure } from './backpressure.js';
import { drain, type StopResult } from './drain.js';
import { Readiness } from './readiness.js';
import { rebalanceHandlers, rejoinHoldLimitMs } from './rebalance.js';
import { StartError } from '../errors.js';

export type { StopResult } from './drain.js';

export interface StartOptions {
  logger?: Logger;
  /** Extra listeners of dispatch outcomes (tests, the demo's progress line). */
  listeners?: DispatchListener[];
  sender?: Sender;
  /** Collect Node's default process metrics into this dispatcher's registry. */
  processMetrics?: boolean;
  /** Serve /metrics, /healthz, /readyz on this port whatever the settings say (0 = any free port). */
  metricsServerPort?: number;
  /**
   * Log the configuration summary and the ordered-mode ceiling (default true). The members of a pool
   * (CONSUMERS > 1) but the first say it at debug level: the same lines N times tell nothing.
   */
  announce?: boolean;
}

export interface RunningDispatcher {
  metrics: DispatchMetrics;
  /** Port of /metrics, /healthz, /readyz, when the server runs. */
  metricsPort: number | undefined;
  isReady(): boolean;
  /** Why /readyz answers 503, or undefined when ready. */
  notReadyReason(): string | undefined;
  /** Records fetched and not yet finished (queued or in flight). */
  buffered(): number;
  /**
   * Stop within `graceMs` (src/service/drain.ts): stop fetching, finish what started, abort what is
   * still running at the end, commit the finished, leave the group, close.
   */
  stop(graceMs?: number): Promise<StopResult>;
}

/**
 * Wires the parts, each made after what it needs: Kafka source → offsets + scheduler → record
 * dispatcher → sender, with metrics, logs and tracing listening, backpressure pausing the source
 * and readiness reporting it all.
 */
export async function startDispatcher(settings: Settings, options: StartOptions = {}): Promise<RunningDispatcher> {
  const logger = options.logger ?? createLogger();
  // What start opened, closed in reverse order by a failed start and by the stop.
  const opened: Array<() => Promise<unknown>> = [];
  const closeOpened = async () => {
    for (const close of opened.splice(0).reverse()) await close().catch(() => {});
  };
  try {
    return await start(settings, options, logger, opened, closeOpened);
  } catch (error) {
    await closeOpened();
    throw error;
  }
}

async function start(
  settings: Settings,
  options: StartOptions,
  logger: Logger,
  opened: Array<() => Promise<unknown>>,
  closeOpened: () => Promise<void>,
): Promise<RunningDispatcher> {
  const metrics = new DispatchMetrics({ defaultMetrics: options.processMetrics ?? false });
  metrics.inFlightCapacity.set(settings.maxInFlight);
  const readiness = new Readiness(metrics.connected);
  const sender = options.sender ?? createSender(settings, logger);
  opened.push(() => sender.close());

  const kafka = createKafka(settings, logger);
  const admin = kafka.admin();
  opened.push(() => admin.disconnect());
  await admin.connect();
  await checkTopics(admin, settings);
  const announce = options.announce ?? true;
  if (settings.ordering === 'ordered') {
    const metadata = await admin.fetchTopicMetadata({ topics: settings.topics }).catch(() => undefined);
    const partitions = metadata?.topics.reduce((sum, t) => sum + t.partitions.length, 0);
    logger[announce ? 'warn' : 'debug']({ ordering: 'ordered', partitions }, orderedCeiling(partitions));
  }
  const producer = settings.deadLetterTopic || settings.replyTopic ? await connectProducer(kafka, opened) : undefined;
  const source = new KafkaSource({
    kafka,
    groupId: settings.groupId,
    topics: settings.topics,
    fromBeginning: settings.initialOffset === 'earliest',
    maxBytesPerPartition: settings.fetchMaxBytesPerPartition,
    sessionTimeoutMs: settings.sessionTimeoutMs,
    maxWaitMs: settings.fetchMaxWaitMs,
    logger,
  });
  const offsets = new OffsetManager({ commit: (o) => source.commit(o), intervalMs: settings.commitIntervalMs, logger });
  const recovery = new SinkRecovery({
    onChange: (down, waiting) =>
      down
        ? logger.warn({ waiting }, 'the sink is down: probing it every second, waiting retries go as soon as it answers')
        : logger.info({ waiting }, 'the sink answers again: retrying the waiting records now'),
  });

  const demand = new DemandEstimator({ rateWindowMs: 3 * settings.lagIntervalMs });
  metrics.observeDemand(() => demand.concurrency);
  const limit = inFlightLimit(settings, demand, logger);
  const listeners = new ListenerSet(
    [
      metrics,
      loggingListener(logger),
      offsets,
      recovery,
      demand,
      ...(limit.listener ? [limit.listener] : []),
      ...(options.listeners ?? []),
    ],
    (error) => logger.error({ err: error }, 'a dispatch listener failed'),
  );
  const ceContext: CloudEventContext = {
    namespace: settings.sourceNamespace,
    name: settings.sourceName,
    keyType: settings.keyType,
    extensions: settings.ceExtensions,
  };
  const encodeCe = (record: KafkaRecord) => encodeCloudEvent(record, ceContext);
  const limiter = settings.rateLimit > 0 ? new Bottleneck({ minTime: 1000 / settings.rateLimit }) : undefined;
  if (limiter) opened.push(() => limiter.stop({ dropWaitingJobs: true }));
  const hardStop = new AbortController();
  // Every record waiting between attempts listens for the hard stop: thousands, not Node's 10.
  setMaxListeners(0, hardStop.signal);
  const dispatcher = new RecordDispatcher({
    sender,
    encode: settings.format === 'raw' ? encodeRaw : encodeCe,
    sinkUri: settings.sinkUri,
    retry: settings.retry,
    backoffPolicy: settings.backoffPolicy,
    backoffDelayMs: settings.backoffDelayMs,
    retryJitter: settings.retryJitter,
    maxRetryAfterMs: settings.maxRetryAfterMs,
    maxRecordAgeMs: settings.maxRecordAgeMs,
    failurePolicy: settings.failurePolicy,
    maxBackoffMs: settings.maxBackoffMs,
    deadLetters: {
      sink: settings.deadLetterSinkUri ? { uri: settings.deadLetterSinkUri, encode: encodeCe } : undefined,
      topic: settings.deadLetterTopic ? { name: settings.deadLetterTopic } : undefined,
    },
    producer,
    replyTopic: settings.replyTopic,
    ...(limiter ? { schedule: <T>(attempt: () => Promise<T>) => limiter.schedule(attempt) } : {}),
    listener: listeners,
    tracer: new OtelRecordTracer({ consumerGroup: settings.groupId, clientId: settings.clientId, brokers: settings.brokers }),
    signal: hardStop.signal,
    sinkWait: (ms, signal) => recovery.wait(ms, signal),
    sinkHold: (signal) => recovery.hold(signal),
  });
  const scheduler = new Scheduler({
    ordering: settings.ordering,
    maxInFlight: settings.maxInFlight,
    maxInFlightPerPartition: settings.maxInFlightPerPartition,
    nullKeys: settings.nullKeys,
    run: (record) => dispatcher.dispatch(record),
  });
  const detachLimit = limit.attach(scheduler, metrics.inFlightLimit);
  opened.push(async () => detachLimit());
  // The scheduler counts what the listeners made before it hear of: they read it from now on.
  const buffered = () => scheduler.queuedOrRunning;
  metrics.observeBuffered(buffered);
  const backpressure = new Backpressure({
    maxBufferedRecords: settings.maxBufferedRecords,
    maxInFlight: settings.maxInFlight,
    buffered,
    source,
  });
  listeners.add(backpressure);

  const collector = new LagCollector({
    admin,
    groupId: settings.groupId,
    topics: settings.topics,
    initialOffset: settings.initialOffset,
    intervalMs: settings.lagIntervalMs,
    metrics,
    logger,
    ownLagSeconds: () => offsets.lagSeconds(),
    committedOffsets: () => offsets.committedOffsets(),
    onRefreshed: (failure) => readiness.brokersRead(failure),
    onEndOffsets: (total, lag, partitions) => {
      demand.observeEndOffsets(total);
      const owned = source.assigned.reduce((sum, tp) => sum + tp.partitions.length, 0);
      limit.lagRead(lag, partitions > 0 ? Math.min(1, owned / partitions) : 1);
    },
  });
  opened.push(() => collector.stop());
  const serverPort = options.metricsServerPort ?? (settings.metricsPort > 0 ? settings.metricsPort : undefined);
  const server =
    serverPort === undefined
      ? undefined
      : await startHealthServer({ port: serverPort, registry: metrics.registry, notReadyReason: () => readiness.notReadyReason() });
  if (server) opened.push(() => server.close());

  logger[announce ? 'info' : 'debug'](
    {
      brokers: settings.brokers,
      topics: settings.topics,
      group: settings.groupId,
      ordering: settings.ordering,
      format: settings.format,
      metricsPort: server?.port,
    },
    'starting dispatcher',
  );
  offsets.start();
  opened.push(async () => offsets.stop());
  // The consumer connects during start: a start that fails half-way must still disconnect it.
  opened.push(() => source.stop());
  await source.start({
    onRecords: (records) => {
      // After stop begins, records are neither dispatched nor committed: the next owner gets them.
      if (readiness.isDraining) return;
      for (const record of records) if (offsets.register(record)) scheduler.submit(record);
    },
    isFull: () => backpressure.isFull(),
    ...rebalanceHandlers({
      offsets,
      scheduler,
      readiness,
      rebalances: metrics.rebalances,
      logger,
      holdLimitMs: rejoinHoldLimitMs(settings.sessionTimeoutMs),
    }),
  });
  // From here the stop leaves the group itself.
  opened.pop();
  collector.start();

  let stopped: Promise<StopResult> | undefined;
  return {
    metrics,
    metricsPort: server?.port,
    isReady: () => readiness.isReady(),
    notReadyReason: () => readiness.notReadyReason(),
    buffered,
    stop: (graceMs = settings.shutdownGraceMs) =>
      (stopped ??= drain(
        { readiness, source, scheduler, offsets, hardStop, abortRequests: () => sender.destroy(), release: closeOpened, logger },
        graceMs,
      )),
  };
}

/**
 * Every topic the dispatcher reads or writes exists: a missing one is a start failure that names
 * it (a pod deployed before its topic crash-loops until the topic is there), not a consumer that
 * waits forever or a partition that stalls on each dead letter.
 */
async function checkTopics(admin: Admin, settings: Settings): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const wanted: Array<[string, string]> = [
    ...settings.topics.map((topic): [string, string] => [topic, 'TOPICS']),
    ...(settings.deadLetterTopic ? [[settings.deadLetterTopic, 'DEAD_LETTER_TOPIC'] as [string, string]] : []),
    ...(settings.replyTopic ? [[settings.replyTopic, 'REPLY_TOPIC'] as [string, string]] : []),
  ];
  const missing = wanted.filter(([topic]) => !existing.has(topic));
  if (missing.length > 0) {
    throw new StartError(
      'KD_TOPIC_MISSING',
      `${missing.map(([topic, setting]) => `topic "${topic}" (${setting})`).join(', ')} ${missing.length > 1 ? 'do' : 'does'} not exist on ${settings.brokers.join(',')}; create ${missing.length > 1 ? 'them' : 'it'} first (the dispatcher never creates topics)`,
    );
  }
}

/** The undici sender, with the sink's TLS and its bearer token file. */
function createSender(settings: Settings, logger: Logger): HttpSender {
  const tokenFile = settings.sinkTokenFile
    ? new TokenFile(settings.sinkTokenFile, (error) =>
        logger.warn({ err: error }, 'cannot read the sink token file; keeping the last token'),
      )
    : undefined;
  return new HttpSender({
    sinkUri: settings.sinkUri,
    hostHeader: settings.sinkHost,
    timeoutMs: settings.requestTimeoutMs,
    connections: Math.min(settings.maxInFlight, 256),
    tls: { ca: settings.sinkCaCerts, cert: settings.sinkClientCert, key: settings.sinkClientKey },
    bearerToken: tokenFile ? () => tokenFile.get() : undefined,
  });
}

/**
 * A connected kafkajs producer as the RecordProducer of the dead-letter and reply topics. Its
 * retries are short: a record waiting for its dead letter holds its partition.
 */
async function connectProducer(kafka: Kafka, opened: Array<() => Promise<unknown>>): Promise<RecordProducer> {
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: false,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  opened.push(() => producer.disconnect());
  await producer.connect();
  return {
    send: async (topic, message) => {
      await producer.send({ topic, messages: [message] });
    },
  };
}
