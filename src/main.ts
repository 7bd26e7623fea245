import Bottleneck from 'bottleneck';
import type { Producer } from 'kafkajs';
import type { Settings } from './config/settings.js';
import { encodeCloudEvent, type CloudEventContext } from './dispatch/cloudevents.js';
import { encodeRaw } from './dispatch/encode.js';
import { HttpSender } from './sink/http-sender.js';
import type { Sender } from './sink/sender.js';
import { ListenerSet, type DispatchListener } from './dispatch/outcome.js';
import { RecordDispatcher, type RecordProducer } from './dispatch/record-dispatcher.js';
import { Scheduler } from './dispatch/scheduler.js';
import { TokenFile } from './sink/token-file.js';
import { OffsetManager } from './offsets/offset-manager.js';
import { startHealthServer } from './server/health-server.js';
import { createKafka } from './source/kafka-client.js';
import { KafkaSource } from './source/kafka-source.js';
import type { KafkaRecord } from './source/record.js';
import { LagCollector } from './telemetry/lag-collector.js';
import { loggingListener } from './telemetry/log-listener.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { DispatchMetrics } from './telemetry/metrics.js';
import { OtelRecordTracer } from './telemetry/tracing.js';


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

export interface StopResult {
  /** Everything in flight finished within the grace period. */
  drained: boolean;
  /** Records received and not finished when the dispatcher stopped (they will be redelivered). */
  unfinished: number;
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

/** Wires the parts together: Kafka source → offsets + scheduler → record dispatcher → HTTP sender. */
export async function startDispatcher(settings: Settings, options: StartOptions = {}): Promise<RunningDispatcher> {
  const logger = options.logger ?? createLogger();
  // The scheduler exists below; the gauge reads it at scrape time.
  let bufferedRecords = () => 0;
  const metrics = new DispatchMetrics({ defaultMetrics: options.processMetrics ?? false, bufferedRecords: () => bufferedRecords() });
  metrics.inFlightCapacity.set(settings.maxInFlight);
  const tokenFile = settings.sinkTokenFile ? new TokenFile(settings.sinkTokenFile, (error) => logger.warn({ err: error }, 'cannot read the sink token file; keeping the last token')) : undefined;
  const sender =
    options.sender ??
    new HttpSender({
      sinkUri: settings.sinkUri,
      hostHeader: settings.sinkHost,
      timeoutMs: settings.requestTimeoutMs,
      connections: Math.min(settings.maxInFlight, 256),
      tls: { ca: settings.sinkCaCerts, cert: settings.sinkClientCert, key: settings.sinkClientKey },
      bearerToken: tokenFile ? () => tokenFile.get() : undefined,
    });
  // Records buffered ahead of dispatch: at the limit a partition delivering a batch is paused; all
  // resume below half of it, so the next fetches arrive while the rest is still being dispatched.
  const totalBuffer = Math.max(settings.maxBufferedRecords, settings.maxInFlight);
  const resumeBelow = Math.floor(totalBuffer / 2);

  const kafka = createKafka(settings, logger);
  const needsProducer = Boolean(settings.deadLetterTopic || settings.replyTopic);
  const producer: Producer | undefined = needsProducer ? kafka.producer({ allowAutoTopicCreation: false, idempotent: false }) : undefined;
  if (producer) await producer.connect();
  const recordProducer: RecordProducer | undefined = producer && {
    send: async (topic, message) => {
      await producer.send({ topic, messages: [message] });
    },
  };

  const ceContext: CloudEventContext = {
    namespace: settings.sourceNamespace,
    name: settings.sourceName,
    keyType: settings.keyType,
    extensions: settings.ceExtensions,
  };
  const encodeCe = (record: KafkaRecord) => encodeCloudEvent(record, ceContext);
  const limiter = settings.rateLimit > 0 ? new Bottleneck({ minTime: 1000 / settings.rateLimit }) : undefined;

  let stopping = false;
  let resumeQueued = false;
  let source: KafkaSource | undefined;
  const hardStop = new AbortController();
  const offsets = new OffsetManager({ commit: (o) => source!.commit(o), intervalMs: settings.commitIntervalMs, logger });
  const listeners = new ListenerSet(
    [
      metrics,
      loggingListener(logger),
      {
        onFinished: (record) => {
          offsets.onFinished(record);
          // Completions come in bursts: look for partitions to resume once per burst, not per record.
          if (!resumeQueued && source?.hasPaused) {
            resumeQueued = true;
            setImmediate(() => {
              resumeQueued = false;
              source?.resumeDrained();
            });
          }
        },
      },
      ...(options.listeners ?? []),
    ],
    (error) => logger.error({ err: error }, 'a dispatch listener failed'),
  );
  const dispatcher = new RecordDispatcher({
    sender,
    encode: settings.format === 'raw' ? encodeRaw : encodeCe,
    sinkUri: settings.sinkUri,
    tracer: new OtelRecordTracer({ consumerGroup: settings.groupId }),
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
    producer: recordProducer,
    replyTopic: settings.replyTopic,
    ...(limiter ? { schedule: <T>(attempt: () => Promise<T>) => limiter.schedule(attempt) } : {}),
    listener: listeners,
    signal: hardStop.signal,
  });
  const scheduler = new Scheduler({
    ordering: settings.ordering,
    maxInFlight: settings.maxInFlight,
    maxInFlightPerPartition: settings.maxInFlightPerPartition,
    nullKeys: settings.nullKeys,
    run: (record) => dispatcher.dispatch(record),
  });
  bufferedRecords = () => scheduler.queuedOrRunning;

  let crashed: Error | undefined;
  let collector: LagCollector | undefined;
  const notReadyReason = (): string | undefined => {
    if (stopping) return 'draining';
    if (!source?.isJoined) return 'not yet joined the consumer group';
    if (crashed) return `consumer crashed (${crashed.message}); restarting`;
    if (collector?.failure) return `brokers unreachable (${collector.failure.message})`;
    return undefined;
  };
  const updateHealth = () => metrics.connected.set(source?.isJoined && !crashed && !collector?.failure && !stopping ? 1 : 0);

  source = new KafkaSource({
    kafka,
    groupId: settings.groupId,
    topics: settings.topics,
    fromBeginning: settings.initialOffset === 'earliest',
    maxBytesPerPartition: settings.fetchMaxBytesPerPartition,
    sessionTimeoutMs: settings.sessionTimeoutMs,
    logger,
    onRecords: (records) => {
      // After stop begins, records are neither dispatched nor committed: the next owner gets them.
      if (stopping) return;
      for (const record of records) if (offsets.register(record)) scheduler.submit(record);
    },
    isFull: () => scheduler.queuedOrRunning >= totalBuffer,
    hasRoom: () => scheduler.queuedOrRunning < resumeBelow,
    maxWaitMs: settings.fetchMaxWaitMs,
    onRebalancing: () => {
      metrics.rebalances.inc();
      logger.info('rebalance: committing finished offsets before rejoining');
      offsets.commit().catch(() => {});
    },
    onAssignment: (assigned, revoked) => {
      for (const tp of revoked) for (const p of tp.partitions) scheduler.dropPartition(tp.topic, p);
      offsets.forget(revoked.flatMap((tp) => tp.partitions.map((partition) => ({ topic: tp.topic, partition }))));
      crashed = undefined;
      updateHealth();
      logger.info({ assigned, revoked }, 'joined group');
    },
    onCrash: (error, restarting) => {
      crashed = error;
      updateHealth();
      logger.error({ err: error, restarting }, 'kafka consumer crashed');
    },
  });
  const admin = kafka.admin();
  await admin.connect();
  collector = new LagCollector({
    admin,
    groupId: settings.groupId,
    topics: settings.topics,
    initialOffset: settings.initialOffset,
    intervalMs: settings.lagIntervalMs,
    metrics,
    logger,
    ownLagSeconds: () => offsets.lagSeconds(),
    committedOffsets: () => offsets.committedOffsets(),
    onRefreshed: updateHealth,
  });

  const serverPort = options.metricsServerPort ?? (settings.metricsPort > 0 ? settings.metricsPort : undefined);
  const server =
    serverPort !== undefined
      ? await startHealthServer({
          port: serverPort,
          registry: metrics.registry,
          notReadyReason,
        })
      : undefined;

  logger.info(
    { brokers: settings.brokers, topics: settings.topics, group: settings.groupId, ordering: settings.ordering, format: settings.format, metricsPort: server?.port },
    'starting dispatcher',
  );
  offsets.start();
  const release = async () => {
    await sender.close().catch(() => {});
    await producer?.disconnect().catch(() => {});
    await limiter?.stop({ dropWaitingJobs: true }).catch(() => {});
    await collector?.stop();
    await admin.disconnect().catch(() => {});
    await server?.close();
  };
  try {
    await source.start();
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
    isReady: () => notReadyReason() === undefined,
    notReadyReason,
    buffered: () => scheduler.queuedOrRunning,
    stop(graceMs = settings.shutdownGraceMs) {
      stopped ??= (async () => {
        stopping = true;
        updateHealth();
        source!.pauseAll();
        // Everything already fetched is finished within the grace period, not just what is in flight:
        // with out-of-order completion (key, unordered) a dropped record would leave a gap that
        // makes the next owner repeat every finished record behind it.
        logger.info({ buffered: scheduler.queuedOrRunning, graceMs }, 'draining');
        let timer: NodeJS.Timeout | undefined;
        const drained = await Promise.race([
          scheduler.idle().then(() => true),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(false), graceMs);
          }),
        ]);
        clearTimeout(timer);
        // Whatever is still retrying stays unfinished: not committed, redelivered to the next owner.
        hardStop.abort();
        offsets.stop();
        await offsets.commit().catch(() => {});
        const unfinished = offsets.unfinished();
        await source!.stop().catch((error) => logger.warn({ err: error }, 'leaving the group failed'));
        await release();
        logger.info({ drained, unfinished }, 'dispatcher stopped');
        return { drained, unfinished };
      })();
      return stopped;
    },
  };
}
