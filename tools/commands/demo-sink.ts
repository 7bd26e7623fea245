/**
 * `node build/tools/cli.js demo-sink [--port N] [--host H] [--latency-ms N] [--latency-jitter-ms N]
 *                           [--concurrency N] [--queue-depth N]`
 *
 * Runs the demo inference sink until SIGINT/SIGTERM. Each flag falls back to an environment
 * variable: PORT, HOST, DEMO_SINK_LATENCY_MS, DEMO_SINK_LATENCY_JITTER_MS, DEMO_SINK_CONCURRENCY,
 * DEMO_SINK_QUEUE_DEPTH. Exit codes: 0 after a signal, 2 on invalid arguments.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../../src/index.js';
import { startDemoSink, type DemoSinkOptions } from '../demo/sink-server.js';

export interface DemoSinkCommandIo {
  /** Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Stops the sink like SIGINT does (tests). */
  signal?: AbortSignal;
  /** Default `process.stdout` / `process.stderr`. */
  stdout?: { write(text: string): unknown };
  stderr?: { write(text: string): unknown };
}

const USAGE = `usage: node build/tools/cli.js demo-sink [options]   (npm run demo-sink -- [options])

The demo inference service until SIGINT/SIGTERM: GET|POST /predict?query=... answers an intent label.

options (each falls back to an environment variable):
  --port N               TCP port, 0 = any free one (default $PORT or 8080)
  --host H               interface to bind (default $HOST or 127.0.0.1)
  --latency-ms N         time per /predict request (default $DEMO_SINK_LATENCY_MS or 0)
  --latency-jitter-ms N  ± jitter on that time (default $DEMO_SINK_LATENCY_JITTER_MS or 0)
  --concurrency N        requests handled at once, 0 = unlimited (default $DEMO_SINK_CONCURRENCY or 0)
  --queue-depth N        requests waiting for a slot before 503 (default $DEMO_SINK_QUEUE_DEPTH or 10 × concurrency)
  -h, --help             this text
`;

interface NumericSetting {
  flag: string;
  env: string;
  key: 'port' | 'latencyMs' | 'latencyJitterMs' | 'concurrency' | 'queueDepth';
  max?: number;
}

/** The demo sink's settings and their environment variables (deploy/ is checked against them). */
export const NUMERIC: readonly NumericSetting[] = [
  { flag: 'port', env: 'PORT', key: 'port', max: 65535 },
  { flag: 'latency-ms', env: 'DEMO_SINK_LATENCY_MS', key: 'latencyMs' },
  { flag: 'latency-jitter-ms', env: 'DEMO_SINK_LATENCY_JITTER_MS', key: 'latencyJitterMs' },
  { flag: 'concurrency', env: 'DEMO_SINK_CONCURRENCY', key: 'concurrency' },
  { flag: 'queue-depth', env: 'DEMO_SINK_QUEUE_DEPTH', key: 'queueDepth' },
];

/**
 * `parseArgs` reads `--port -1` as a flag missing its value; rewrite it to `--port=-1` so the
 * range check below can name the value.
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const flags = new Set(NUMERIC.map((s) => `--${s.flag}`));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    if (flags.has(arg) && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** `argv` holds the arguments after `demo-sink`. Resolves with the process exit code. */
export async function demoSinkCommand(argv: string[], io: DemoSinkCommandIo = {}): Promise<number> {
  const env = io.env ?? process.env;
  const out = io.stdout ?? process.stdout;
  const err = io.stderr ?? process.stderr;

  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: joinNegativeValues(argv),
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'latency-ms': { type: 'string' },
        'latency-jitter-ms': { type: 'string' },
        concurrency: { type: 'string' },
        'queue-depth': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    err.write(`demo-sink: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    out.write(USAGE);
    return 0;
  }

  const options: DemoSinkOptions = {};
  const problems: string[] = [];
  for (const setting of NUMERIC) {
    const fromFlag = values[setting.flag];
    const raw = typeof fromFlag === 'string' ? fromFlag : env[setting.env];
    if (raw === undefined || (typeof fromFlag !== 'string' && raw.trim() === '')) continue;
    const source = typeof fromFlag === 'string' ? `--${setting.flag}` : `${setting.env} (env)`;
    const trimmed = raw.trim();
    const n = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
    if (!Number.isSafeInteger(n) || (setting.max !== undefined && n > setting.max)) {
      const range = setting.max !== undefined ? `an integer from 0 to ${setting.max}` : 'a non-negative integer';
      problems.push(`${source}: must be ${range}, got ${JSON.stringify(raw)}`);
      continue;
    }
    options[setting.key] = n;
  }
  const host = typeof values.host === 'string' ? values.host : env.HOST;
  if (host !== undefined && host.trim() !== '') options.host = host.trim();
  else if (typeof values.host === 'string') problems.push(`--host: must not be empty, got ""`);
  if (problems.length > 0) {
    err.write(`demo-sink: invalid arguments:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return 2;
  }

  const logger = createLogger();
  options.logger = logger;
  let sink;
  try {
    sink = await startDemoSink(options);
  } catch (e) {
    err.write(`demo-sink: cannot listen: ${(e as Error).message}\n`);
    return 1;
  }
  out.write(`demo sink listening on ${sink.url}\n`);

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (io.signal?.aborted) stop();
    else io.signal?.addEventListener('abort', stop, { once: true });
  });
  await sink.close();
  logger.debug(sink.stats(), 'demo sink stopped');
  return 0;
}
