import { pino, type Logger } from 'pino';

export type { Logger };

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export interface LoggerOptions {
  /** Overrides LOG_LEVEL. */
  level?: string;
  /** `json` (default when stdout is not a terminal) or `pretty`. Overrides LOG_FORMAT. */
  format?: 'json' | 'pretty';
  /** Where lines go; defaults to stdout. Tests pass a stream to read the lines back. */
  destination?: NodeJS.WritableStream;
}

/**
 * One JSON object per line, level from LOG_LEVEL (default `info`), pretty when stdout is a terminal.
 * Values under these keys never reach a log line, wherever they appear.
 */
export const REDACTED_LOG_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
];

export function createLogger(options: LoggerOptions = {}): Logger {
  const requested = (options.level ?? process.env.LOG_LEVEL ?? 'info').toLowerCase();
  const level = LEVELS.has(requested) ? requested : 'info';
  const format =
    options.format ??
    (process.env.LOG_FORMAT as 'json' | 'pretty' | undefined) ??
    (process.stdout.isTTY && !options.destination ? 'pretty' : 'json');
  const base = {
    level,
    base: { svc: 'kafka-dispatch' },
    redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (format === 'pretty' && !options.destination) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,svc' } } });
  }
  const logger = options.destination
    ? pino(base, options.destination as unknown as pino.DestinationStream)
    : pino(base, pino.destination({ dest: 1, sync: true }));
  if (requested !== level) logger.warn({ requested }, 'unknown LOG_LEVEL, using info');
  return logger;
}
