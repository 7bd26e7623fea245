import Bottleneck from 'bottleneck';
import type { Kafka } from 'kafkajs';
import type { Settings } from '../config/settings.js';
import { encodeCloudEvent, type CloudEventContext } from '../dispatch/cloudevents.js';
import { encodeRaw } from '../dispatch/encode.js';
import { ListenerSet, type DispatchListener } from '../dispatch/outcome.js';
import { RecordDispatcher, type RecordProducer } from '../dispatch/record-dispatcher.js';
import { Scheduler } from '../dispatch/scheduler.js';
import { OffsetManager } from '../offsets/offset-manager.js';
import { startHealthServer } from '../server/health-server.js';
import { HttpSender } from '../sink/http-sender.js';
import type { Sender } from '../sink/sender.js';
import { TokenFile } from '../sink/token-file.js';
import { createKafka } from '../source/kafka-client.js';
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
import { rebalanceHandlers } from './rebalance.js';

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
  /** Stop fetching, let in-flight work finish within `graceMs`, commit, leave the group. */
  stop(graceMs?: number): Promise<StopResult>;
}

/**
 * Wires the parts, each made after what it needs: Kafka source → offsets + scheduler → record
 * dispatcher → sender, with metrics, logs and tracing listening, backpressure pausing the source
 * and readiness reporting it all.
 */
export async function startDispatcher(settings: Settings, options: StartOptions = {}): Promise<RunningDispatcher> {
  const logger = options.logger ?? createLogger();
  const metrics = new DispatchMetrics({ defaultMetrics: options.processMetrics ?? false });
  metrics.inFlightCapacity.set(settings.maxInFlight);
  const readiness = new Readiness(metrics.connected);
  const sender = options.sender ?? createSender(settings, logger);

  const kafka = createKafka(settings, logger);
  const producer = settings.deadLetterTopic || settings.replyTopic ? await connectProducer(kafka) : undefined;
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

  const listeners = new ListenerSet([metrics, loggingListener(logger), offsets, ...(options.listeners ?? [])], (error) =>
    logger.error({ err: error }, 'a dispatch listener failed'),
  );
  const ceContext: CloudEventContext = {
    namespace: settings.sourceNamespace,
    name: settings.sourceName,
    keyType: settings.keyType,
    extensions: settings.ceExtensions,
  };
  const encodeCe = (record: KafkaRecord) => encodeCloudEvent(record, ceContext);
  const limiter = settings.rateLimit > 0 ? new Bottleneck({ minTime: 1000 / settings.rateLimit }) : undefined;
  const hardStop = new AbortController();
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
    tracer: new OtelRecordTracer({ consumerGroup: settings.groupId }),
    signal: hardStop.signal,
  });
  const scheduler = new Scheduler({
    ordering: settings.ordering,
    maxInFlight: settings.maxInFlight,
    maxInFlightPerPartition: settings.maxInFlightPerPartition,
    nullKeys: settings.nullKeys,
    run: (record) => dispatcher.dispatch(record),
  });
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

  const admin = kafka.admin();
  await admin.connect();
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
  });
  const serverPort = options.metricsServerPort ?? (settings.metricsPort > 0 ? settings.metricsPort : undefined);
  const server =
    serverPort === undefined
      ? undefined
      : await startHealthServer({ port: serverPort, registry: metrics.registry, notReadyReason: () => readiness.notReadyReason() });

  const release = async () => {
    await sender.close().catch(() => {});
    await producer?.disconnect().catch(() => {});
    await limiter?.stop({ dropWaitingJobs: true }).catch(() => {});
    await collector.stop();
    await admin.disconnect().catch(() => {});
    await server?.close();
  };

  logger.info(
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
  try {
    await source.start({
      onRecords: (records) => {
        // After stop begins, records are neither dispatched nor committed: the next owner gets them.
        if (readiness.isDraining) return;
        for (const record of records) if (offsets.register(record)) scheduler.submit(record);
      },
      isFull: () => backpressure.isFull(),
      ...rebalanceHandlers({ offsets, scheduler, readiness, rebalances: metrics.rebalances, logger }),
    });
    collector.start();
  } catch (error) {
    offsets.stop();
    await release();
    throw error;
  }

  let stopped: Promise<StopResult> | undefined;
  return {
    metrics,
    metricsPort: server?.port,
    isReady: () => readiness.isReady(),
    notReadyReason: () => readiness.notReadyReason(),
    buffered,
    stop: (graceMs = settings.shutdownGraceMs) =>
      (stopped ??= drain({ readiness, source, scheduler, offsets, hardStop, release, logger }, graceMs)),
  };
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

/** A connected kafkajs producer as the RecordProducer of the dead-letter and reply topics. */
async function connectProducer(kafka: Kafka): Promise<RecordProducer & { disconnect(): Promise<void> }> {
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
  await producer.connect();
  return {
    send: async (topic, message) => {
      await producer.send({ topic, messages: [message] });
    },
    disconnect: () => producer.disconnect(),
  };
}
