import { PassThrough } from 'node:stream';
import { DEFAULTS } from '../../src/config/options.js';
import type { Settings } from '../../src/config/settings.js';
import { startDispatcher, type RunningDispatcher, type StartOptions } from '../../src/service/start-dispatcher.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { brokers } from './kafka.js';

export interface TestDispatcher extends RunningDispatcher {
  /** Every log line so far, parsed. */
  logs(): Array<Record<string, unknown> & { msg: string; level: string }>;
}

/** An in-process dispatcher with short delivery settings (Knative's defaults back off for minutes). */
export async function startTestDispatcher(
  settings: Partial<Settings> & Pick<Settings, 'topics' | 'groupId' | 'sinkUri'>,
  options: StartOptions = {},
): Promise<TestDispatcher> {
  const stream = new PassThrough();
  const lines: string[] = [];
  let partial = '';
  stream.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  });
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'info', destination: stream });
  const dispatcher = await startDispatcher(
    {
      ...DEFAULTS,
      brokers: brokers(),
      sinkHost: undefined,
      initialOffset: 'earliest',
      requestTimeoutMs: 5000,
      retry: 2,
      backoffPolicy: 'fixed',
      backoffDelayMs: 50,
      commitIntervalMs: 200,
      metricsPort: 0,
      ...settings,
    },
    { logger, ...options },
  );
  return Object.assign(dispatcher, {
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown> & { msg: string; level: string }),
  });
}
