import { startDispatcher, type RunningDispatcher } from '../service/start-dispatcher.js';
import { StartError } from '../errors.js';
import { loadConfigOrExit } from '../cli/load-config.js';
import { createLogger } from '../telemetry/logger.js';
import { startTracingFromEnv } from '../telemetry/tracing.js';
import { isToMember, MEMBER_ENV, type FromMember, type ToMember } from './messages.js';

/**
 * One member of a pool (`kafka-dispatch run` with CONSUMERS > 1, forked by src/cluster/member-pool.ts):
 * today's dispatcher, without a server of its own (the primary serves the pod's port and asks the
 * members over IPC), logging with a `member` field. The primary has printed the configuration's
 * warnings; the member does not repeat them.
 *
 * It stops — one drain, src/service/drain.ts — when the primary says so, when the primary is gone
 * (the IPC channel closes), or on SIGTERM/SIGINT of its own (a Ctrl-C in a terminal reaches the whole
 * process group): all the same stop, never the single process's "second signal: exit now", which is
 * the primary's to decide.
 */
export async function runMember(argv: string[]): Promise<number> {
  const loaded = loadConfigOrExit('run', argv);
  if ('exitCode' in loaded) return loaded.exitCode;
  const member = Number(process.env[MEMBER_ENV]);
  const logger = createLogger().child({ member });
  const send = (message: FromMember) => {
    if (process.connected) process.send!(message);
  };

  let requestStop: (() => void) | undefined;
  const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
  let dispatcher: RunningDispatcher | undefined;
  const onMessage = (message: unknown) => {
    if (!isToMember(message)) return;
    const m = message as ToMember;
    if (m.kd === 'stop') requestStop!();
    else if (m.kd === 'ask') void answer(m.id, m.what);
  };
  const answer = async (id: number, what: 'metrics' | 'ready') => {
    if (!dispatcher) return send({ kd: 'answer', id, notReady: 'starting', metrics: [] });
    if (what === 'ready') return send({ kd: 'answer', id, notReady: dispatcher.notReadyReason() ?? null });
    const metrics = await dispatcher.metrics.registry.getMetricsAsJSON().catch(() => []);
    send({ kd: 'answer', id, metrics: metrics as NonNullable<Extract<FromMember, { kd: 'answer' }>['metrics']> });
  };
  process.on('message', onMessage);
  process.on('disconnect', () => requestStop!());
  process.on('SIGTERM', () => requestStop!());
  process.on('SIGINT', () => requestStop!());

  const stopTracing = await startTracingFromEnv(process.env, logger);
  try {
    const settings = { ...loaded.config.settings, metricsPort: 0 };
    dispatcher = await startDispatcher(settings, { logger, processMetrics: true, announce: member === 1 });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof StartError) logger.fatal({ code: error.code }, `dispatcher failed to start: ${reason}`);
    else logger.fatal({ err: error }, `dispatcher failed to start: ${reason}`);
    await stopTracing();
    return 1;
  }
  send({ kd: 'started' });
  await stopRequested;
  try {
    await dispatcher.stop();
    return 0;
  } catch (error) {
    logger.error({ err: error }, 'shutdown failed');
    return 1;
  } finally {
    await stopTracing();
    process.off('message', onMessage);
    // The IPC channel keeps the process alive; the stop is over.
    if (process.connected) process.disconnect();
  }
}
