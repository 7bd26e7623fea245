import { Registry } from 'prom-client';
import type { Settings } from '../config/settings.js';
import { startHealthServer } from '../server/health-server.js';
import type { Logger } from '../telemetry/logger.js';
import { MemberPool } from './member-pool.js';

/**
 * `kafka-dispatch run` with CONSUMERS > 1, the primary: forks the members, serves the pod's /metrics,
 * /healthz and /readyz on METRICS_PORT for them all, and on `stopRequested` drains them all. Exits 0
 * when every member drained and exited 0; 1 when one failed to start, kept dying, or did not stop.
 */
export async function runPool(settings: Settings, logger: Logger, stopRequested: Promise<void>): Promise<number> {
  const pool = new MemberPool({ size: settings.consumers, graceMs: settings.shutdownGraceMs, logger });
  const server =
    settings.metricsPort > 0
      ? await startHealthServer({
          port: settings.metricsPort,
          registry: { contentType: Registry.PROMETHEUS_CONTENT_TYPE, metrics: () => pool.metrics() },
          notReadyReason: () => pool.notReadyReason(),
        })
      : undefined;
  logger.info({ consumers: settings.consumers, metricsPort: server?.port }, `starting ${settings.consumers} consumer-group members`);
  pool.start();
  const gaveUp = await Promise.race([stopRequested.then(() => undefined), pool.gaveUp]);
  const code = await pool.stop();
  await server?.close();
  return gaveUp === undefined ? code : 1;
}
