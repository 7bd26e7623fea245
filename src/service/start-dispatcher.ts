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
import { RecordFilter } from '../dispatch/record-filter.js';
import { DEFAULT_SINK, Router } from '../dispatch/router.js';
import { RoutingDispatcher, type SinkDispatcher } from '../dispatch/routing-dispatcher.js';
import { BatchDispatcher, batchOfOne } from '../dispatch/batch-dispatcher.js';
import { recordBytes, type BatchCodec } from '../dispatch/batch-encode.js';
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
  const sinks = sinkSpecs(settings);
  const senders = new Map<string, Sender>();
  for (const sink of sinks) {
    const sender = sink.name === DEFAULT_SINK && options.sender ? options.sender : createSender(settings, sink, logger);
    senders.set(sink.name, sender);
    opened.push(() => sender.close());
  }
  const destroySenders = async () => {
    await Promise.all([...senders.values()].map((sender) => sender.destroy()));
  };

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
  // One circuit per sink: one InferenceService down must not hold the records of another.
  const recoveries = new Map(
    sinks.map((sink) => [
      sink.name,
      new SinkRecovery({
        onChange: (down, waiting) =>
          down
            ? logger.warn(
                { sink: sink.name, waiting },
                'the sink is down: probing it every second, waiting retries go as soon as it answers',
              )
            : logger.info({ sink: sink.name, waiting }, 'the sink answers again: retrying the waiting records now'),
      }),
    ]),
  );
  const recoveryListener: DispatchListener = {
    onAttempt: (record, report) => recoveries.get(report.sink ?? DEFAULT_SINK)?.onAttempt(record, report),
  };

  const demand = new DemandEstimator({ rateWindowMs: 3 * settings.lagIntervalMs });
  metrics.observeDemand(() => demand.concurrency);
  const limit = inFlightLimit(settings, demand, logger);
  const listeners = new ListenerSet(
    [
      metrics,
      loggingListener(logger),
      offsets,
      recoveryListener,
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
  const tracer = new OtelRecordTracer({ consumerGroup: settings.groupId, clientId: settings.clientId, brokers: settings.brokers });
  const batching = settings.batchMaxRecords > 1;
  const codec: BatchCodec = {
    format: settings.batchFormat,
    ceContext,
    oipInput: settings.batchOipInput,
    oipDatatype: settings.batchOipDatatype,
    itemErrorField: settings.batchItemErrorField,
  };
  const recordDispatcherOf = (sink: SinkSpec) =>
    new RecordDispatcher({
      sender: senders.get(sink.name)!,
      // Batching: a record sent alone is a batch of one, so the sink reads one body format.
      ...(batching ? batchOfOne(codec) : { encode: settings.format === 'raw' ? encodeRaw : encodeCe }),
      sinkUri: sink.uri,
      sinkName: sink.name,
      retry: sink.retry,
      backoffPolicy: sink.backoffPolicy,
      backoffDelayMs: sink.backoffDelayMs,
      retryJitter: settings.retryJitter,
      maxRetryAfterMs: settings.maxRetryAfterMs,
      maxRecordAgeMs: settings.maxRecordAgeMs,
      failurePolicy: settings.failurePolicy,
      maxBackoffMs: settings.maxBackoffMs,
      deadLetters: {
        sink: sink.deadLetterSinkUri ? { uri: sink.deadLetterSinkUri, encode: encodeCe } : undefined,
        topic: settings.deadLetterTopic ? { name: settings.deadLetterTopic } : undefined,
      },
      producer,
      replyTopic: settings.replyTopic,
      ...(limiter ? { schedule: <T>(attempt: () => Promise<T>) => limiter.schedule(attempt) } : {}),
      listener: listeners,
      tracer,
      signal: hardStop.signal,
      sinkWait: (ms, signal) => recoveries.get(sink.name)!.wait(ms, signal),
      sinkHold: (signal) => recoveries.get(sink.name)!.hold(signal),
    });
  // Without batching (the default) the record dispatcher is the sink's dispatcher: today's path, nothing in between.
  const dispatcherOf = (sink: SinkSpec): SinkDispatcher => {
    const single = recordDispatcherOf(sink);
    if (!batching) return single;
    return new BatchDispatcher({
      sender: senders.get(sink.name)!,
      codec,
      single,
      sinkName: sink.name,
      maxRecords: settings.batchMaxRecords,
      maxBytes: settings.batchMaxBytes,
      maxWaitMs: settings.batchMaxWaitMs,
      retry: sink.retry,
      rules: {
        policy: sink.backoffPolicy,
        baseMs: sink.backoffDelayMs,
        jitter: settings.retryJitter,
        maxRetryAfterMs: settings.maxRetryAfterMs,
      },
      listener: listeners,
      producer,
      replyTopic: settings.replyTopic,
      ...(limiter ? { schedule: <T>(attempt: () => Promise<T>) => limiter.schedule(attempt) } : {}),
      signal: hardStop.signal,
      sinkWait: (ms, signal) => recoveries.get(sink.name)!.wait(ms, signal),
      onBatch: (report) => metrics.observeBatch(report),
      inOrder: settings.ordering !== 'unordered',
    });
  };
  const dispatchers = new Map(sinks.map((sink) => [sink.name, dispatcherOf(sink)]));
  const { run, runRun } = recordRunner(settings, dispatchers, listeners);
  const scheduler = new Scheduler({
    ordering: settings.ordering,
    maxInFlight: settings.maxInFlight,
    maxInFlightPerPartition: settings.maxInFlightPerPartition,
    nullKeys: settings.nullKeys,
    run,
    // Batching with order: a lane hands its consecutive records over together, one run in flight per lane.
    ...(batching && settings.ordering !== 'unordered'
      ? { laneRuns: { maxRecords: settings.batchMaxRecords, maxBytes: settings.batchMaxBytes, bytesOf: recordBytes, runRun } }
      : {}),
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
      ...(settings.filter ? { filter: settings.filter } : {}),
      ...(settings.route ? { route: settings.route, sinks: sinks.map((s) => s.name) } : {}),
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
        { readiness, source, scheduler, offsets, hardStop, abortRequests: destroySenders, release: closeOpened, logger },
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

/** One sink as its dispatcher and sender see it: a named sink's fields, the process-wide settings where it left them out. */
interface SinkSpec {
  name: string;
  uri: string;
  host: string | undefined;
  requestTimeoutMs: number;
  retry: number;
  backoffPolicy: Settings['backoffPolicy'];
  backoffDelayMs: number;
  deadLetterSinkUri: string | undefined;
}

/** K_SINK as `default`, then SINKS. */
function sinkSpecs(settings: Settings): SinkSpec[] {
  const defaults: SinkSpec = {
    name: DEFAULT_SINK,
    uri: settings.sinkUri,
    host: settings.sinkHost,
    requestTimeoutMs: settings.requestTimeoutMs,
    retry: settings.retry,
    backoffPolicy: settings.backoffPolicy,
    backoffDelayMs: settings.backoffDelayMs,
    deadLetterSinkUri: settings.deadLetterSinkUri,
  };
  const named = Object.entries(settings.sinks ?? {}).map(([name, sink]): SinkSpec => ({
    name,
    uri: sink.uri,
    // A Host header belongs to its own URI: K_SINK's is not inherited.
    host: sink.host,
    requestTimeoutMs: sink.requestTimeoutMs ?? defaults.requestTimeoutMs,
    retry: sink.retry ?? defaults.retry,
    // A named sink's backoff delay alone keeps the policy of the process, as BACKOFF_DELAY alone does.
    backoffPolicy: sink.backoffPolicy ?? defaults.backoffPolicy,
    backoffDelayMs: sink.backoffDelayMs ?? defaults.backoffDelayMs,
    deadLetterSinkUri: sink.deadLetterSinkUri ?? defaults.deadLetterSinkUri,
  }));
  return [defaults, ...named];
}

/**
 * What the scheduler runs per record: the default sink's dispatcher itself when there is neither a
 * filter nor a route (no context is built for a record then), else the routing dispatcher in front.
 */
function recordRunner(
  settings: Settings,
  dispatchers: ReadonlyMap<string, SinkDispatcher>,
  listener: DispatchListener,
): { run: (record: KafkaRecord) => Promise<unknown>; runRun: (records: KafkaRecord[]) => Promise<unknown> } {
  if (settings.filter === undefined && settings.route === undefined) {
    const only = dispatchers.get(DEFAULT_SINK)!;
    return {
      run: (record) => only.dispatch(record),
      runRun: (records) => (only.dispatchRun ? only.dispatchRun(records) : Promise.all(records.map((record) => only.dispatch(record)))),
    };
  }
  const routing = new RoutingDispatcher({
    filter: settings.filter === undefined ? undefined : new RecordFilter(settings.filter, settings.keyType),
    router: new Router(settings.route, new Set(dispatchers.keys()), settings.keyType),
    dispatchers,
    listener,
    keyType: settings.keyType,
  });
  return { run: (record) => routing.dispatch(record), runRun: (records) => routing.dispatchRun(records) };
}

/** The undici sender of one sink, with the sinks' TLS; the bearer token file is K_SINK's alone. */
function createSender(settings: Settings, sink: SinkSpec, logger: Logger): HttpSender {
  const tokenFile =
    settings.sinkTokenFile && sink.name === DEFAULT_SINK
      ? new TokenFile(settings.sinkTokenFile, (error) =>
          logger.warn({ err: error }, 'cannot read the sink token file; keeping the last token'),
        )
      : undefined;
  return new HttpSender({
    sinkUri: sink.uri,
    hostHeader: sink.host,
    timeoutMs: sink.requestTimeoutMs,
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
