import type { Settings } from './config/settings.js';
import { encodeRaw } from './dispatch/encode.js';
import { HttpSender, type Sender } from './dispatch/http-sender.js';
import { ListenerSet, type DispatchListener } from './dispatch/outcome.js';
import { RecordDispatcher } from './dispatch/record-dispatcher.js';
import { Scheduler } from './dispatch/scheduler.js';
import { OffsetManager } from './offsets/offset-manager.js';
import { startHealthServer } from './server/health-server.js';
import { KafkaSource } from './source/kafka-source.js';
import { loggingListener } from './telemetry/log-listener.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { DispatchMetrics } from './telemetry/metrics.js';

export interface StartOptions {
  logger?: Logger;
  /** Extra listeners of dispatch outcomes (tests, the demo's progress line). */
  listeners?: DispatchListener[];
  sender?: Sender;
  /** Collect Node's default process metrics into this dispatcher's registry. */
  processMetrics?: boolean;
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
  /** Stop fetching, let in-flight work finish within `graceMs`, commit, leave the group. */
  stop(graceMs?: number): Promise<StopResult>;
}

/** Wires the parts together: Kafka source → offsets + scheduler → record dispatcher → HTTP sender. */
export async function startDispatcher(settings: Settings, options: StartOptions = {}): Promise<RunningDispatcher> {
  const logger = options.logger ?? createLogger();
  const metrics = new DispatchMetrics({ defaultMetrics: options.processMetrics ?? false });
  metrics.inFlightCapacity.set(settings.maxInFlight);
  const sender =
    options.sender ??
    new HttpSender({
      sinkUri: settings.sinkUri,
      hostHeader: settings.sinkHost,
      timeoutMs: settings.requestTimeoutMs,
      connections: Math.min(settings.maxInFlight, 256),
    });
  const perPartitionCap = settings.ordering === 'ordered' ? 1 : settings.maxInFlightPerPartition;
  // Records buffered ahead of dispatch; past these, fetching pauses.
  const partitionBuffer = Math.max(2 * perPartitionCap, 64);
  const totalBuffer = Math.max(4 * settings.maxInFlight, 1024);

  let stopping = false;
  let source: KafkaSource | undefined;
  const offsets = new OffsetManager({ commit: (o) => source!.commit(o), intervalMs: settings.commitIntervalMs, logger });
  const listeners = new ListenerSet(
    [
      metrics,
      loggingListener(logger),
      {
        onFinished: (record) => {
          offsets.finished(record);
          source?.resumeDrained();
        },
      },
      ...(options.listeners ?? []),
    ],
    (error) => logger.error({ err: error }, 'a dispatch listener failed'),
  );
  const dispatcher = new RecordDispatcher({
    sender,
    encode: encodeRaw,
    retry: settings.retry,
    backoffPolicy: settings.backoffPolicy,
    backoffDelayMs: settings.backoffDelayMs,
    listener: listeners,
  });
  const scheduler = new Scheduler({
    ordering: settings.ordering,
    maxInFlight: settings.maxInFlight,
    maxInFlightPerPartition: settings.maxInFlightPerPartition,
    run: (record) => dispatcher.dispatch(record),
  });

  source = new KafkaSource({
    brokers: settings.brokers,
    clientId: settings.clientId,
    groupId: settings.groupId,
    topics: settings.topics,
    fromBeginning: settings.initialOffset === 'earliest',
    logger,
    onRecords: (records) => {
      // After stop begins, records are neither dispatched nor committed: the next owner gets them.
      if (stopping) return;
      for (const record of records) if (offsets.register(record)) scheduler.submit(record);
    },
    isFull: (topic, partition) => scheduler.pendingIn(topic, partition) >= partitionBuffer || scheduler.pending >= totalBuffer,
    onRebalancing: () => {
      logger.info('rebalance: committing finished offsets before rejoining');
      offsets.commit().catch(() => {});
    },
    onAssignment: (assigned, revoked) => {
      for (const tp of revoked) for (const p of tp.partitions) scheduler.dropPartition(tp.topic, p);
      offsets.forget(revoked.flatMap((tp) => tp.partitions.map((partition) => ({ topic: tp.topic, partition }))));
      logger.info({ assigned, revoked }, 'joined group');
    },
    onCrash: (error, restarting) => logger.error({ err: error, restarting }, 'kafka consumer crashed'),
  });

  const server =
    settings.metricsPort > 0
      ? await startHealthServer({
          port: settings.metricsPort,
          registry: metrics.registry,
          notReadyReason: () => (stopping ? 'draining' : source!.isJoined ? undefined : 'not yet joined the consumer group'),
        })
      : undefined;

  logger.info(
    { brokers: settings.brokers, topics: settings.topics, group: settings.groupId, ordering: settings.ordering, metricsPort: server?.port },
    'starting dispatcher',
  );
  offsets.start();
  try {
    await source.start();
  } catch (error) {
    offsets.stop();
    await server?.close();
    await sender.close();
    throw error;
  }

  let stopped: Promise<StopResult> | undefined;
  return {
    metrics,
    metricsPort: server?.port,
    isReady: () => !stopping && source!.isJoined,
    stop(graceMs = settings.shutdownGraceMs) {
      stopped ??= (async () => {
        stopping = true;
        source!.pauseAll();
        logger.info({ inFlight: scheduler.pending, graceMs }, 'draining');
        let timer: NodeJS.Timeout | undefined;
        const drained = await Promise.race([
          scheduler.idle().then(() => true),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(false), graceMs);
          }),
        ]);
        clearTimeout(timer);
        offsets.stop();
        await offsets.commit().catch(() => {});
        const unfinished = offsets.unfinished();
        await source!.stop().catch((error) => logger.warn({ err: error }, 'leaving the group failed'));
        await sender.close().catch(() => {});
        await server?.close();
        logger.info({ drained, unfinished }, 'dispatcher stopped');
        return { drained, unfinished };
      })();
      return stopped;
    },
  };
}
