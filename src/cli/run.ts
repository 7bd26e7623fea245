import cluster from 'node:cluster';
import { StartError } from '../errors.js';
import { createLogger } from '../telemetry/logger.js';
import { startTracingFromEnv } from '../telemetry/tracing.js';
import { loadConfigOrExit } from './load-config.js';

/**
 * `kafka-dispatch run [--kafkasource FILE] [flags]`. SIGTERM or SIGINT stops within the grace
 * period (src/service/drain.ts: what started finishes or is aborted, the finished is committed) and
 * exits 0; a second signal exits at once (code 130) without committing unfinished work, which is
 * then redelivered. A start that fails exits 1. With CONSUMERS > 1 the same holds for the pod: this
 * process forks the members and speaks for them (docs/consumers.md).
 */
export async function runCommand(argv: string[]): Promise<number> {
  // CONSUMERS > 1 forks members that run this same command (src/cluster/member.ts).
  if (cluster.isWorker) return (await import('../cluster/member.js')).runMember(argv);
  const loaded = loadConfigOrExit('run', argv);
  if ('exitCode' in loaded) return loaded.exitCode;
  const { settings, warnings } = loaded.config;
  const logger = createLogger();
  for (const warning of warnings) logger.warn(warning);

  // Handlers first: a signal that arrives while the dispatcher is still starting must not kill it
  // mid-join; it is honoured as soon as the start completes.
  let signals = 0;
  let requestStop: (() => void) | undefined;
  const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now without committing unfinished work');
      process.exit(130);
    }
    logger.info({ signal }, 'shutting down');
    requestStop!();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  // CONSUMERS > 1: this process is the pool's primary, the members consume (src/cluster/run-pool.ts).
  if (settings.consumers > 1) return (await import('../cluster/run-pool.js')).runPool(settings, logger, stopRequested);

  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_TRACES_EXPORTER=otlp) is set; the SDK loads only then.
  const stopTracing = await startTracingFromEnv(process.env, logger);

  let dispatcher;
  try {
    // Loaded here, not at the top: a pool's primary (above) never loads kafkajs, undici and the rest.
    const { startDispatcher } = await import('../service/start-dispatcher.js');
    dispatcher = await startDispatcher(settings, { logger, processMetrics: true });
  } catch (error) {
    // Exit 1 at once: a pod deployed before its topic crash-loops (and compose's restart: on-failure
    // fires) rather than hanging not ready.
    const reason = error instanceof Error ? error.message : String(error);
    // An expected refusal (a missing topic) is said plainly; anything else keeps its stack.
    if (error instanceof StartError) logger.fatal({ code: error.code }, `dispatcher failed to start: ${reason}`);
    else logger.fatal({ err: error }, `dispatcher failed to start: ${reason}`);
    await stopTracing();
    return 1;
  }
  await stopRequested;
  try {
    await dispatcher.stop();
    return 0;
  } catch (error) {
    logger.error({ err: error }, 'shutdown failed');
    return 1;
  } finally {
    await stopTracing();
  }
}
