import { parseArgs } from 'node:util';
import type { Admin, Kafka } from 'kafkajs';
import { loadEnvLayer } from '../config/env.js';
import { DEFAULTS, optionFor } from '../config/options.js';
import type { InitialOffset } from '../config/settings.js';
import { createKafka } from '../source/kafka-client.js';
import { partitionId } from '../source/record.js';
import { LagReader, oldestUnconsumedTimestamps, type GroupLag } from '../telemetry/lag.js';
import { withTimeout } from '../util/timers.js';
import { createLogger } from '../telemetry/logger.js';
import { renderEntries, settingEntry } from './help.js';

const USAGE = [
  `usage: kafka-dispatch lag --group G [options]

Prints how far a consumer group is behind on each partition, like kafka-consumer-groups --describe,
with KEDA's lag rules (what the Kafka scaler of a KafkaSource sees): lag = log end offset - committed
offset; a partition never committed counts 1 with --initial-offset latest, and its log end offset
with earliest. The log end offset is the last stable offset (what a read_committed consumer reaches).
LAG-SECONDS is the age of the oldest record not consumed yet, read with a throwaway consumer group.

options:`,
  renderEntries([
    settingEntry('groupId', { flags: '-g, --group NAME', description: 'Consumer group.', default: '(required)' }),
    settingEntry('topics', {
      flags: '-t, --topic T',
      description: 'Topic, repeatable or comma-separated. Without one: the topics the group has committed offsets for or is assigned.',
      default: "the group's topics",
    }),
    settingEntry('brokers', { flags: '--brokers LIST', description: 'Bootstrap servers, comma-separated.' }),
    settingEntry('initialOffset', {
      flags: `--initial-offset ${optionFor('initialOffset').metavar}`,
      description: 'The rule for never-committed partitions.',
    }),
    { flags: '--json', description: 'Print the result as JSON (one object per refresh with --watch).' },
    { flags: '--watch [SECONDS]', default: '5 s when given', description: 'Refresh every SECONDS until Ctrl-C.' },
    { flags: '--no-lag-seconds', description: 'Skip LAG-SECONDS (no throwaway consumer group).' },
    { flags: '-h, --help', description: 'This text.' },
  ]),
  `
SASL and TLS to the brokers come from the dispatcher's variables (KAFKA_SASL_*, KAFKA_TLS*).
Exit codes: 0 ok, 1 the brokers could not be read (15 s), 2 usage error.`,
].join('\n');

const CONNECT_TIMEOUT_MS = 15_000;
const TIMESTAMPS_TIMEOUT_MS = 10_000;

class UsageError extends Error {}

interface LagOptions {
  group: string;
  topics: string[];
  brokers: string[];
  initialOffset: InitialOffset;
  json: boolean;
  watchSeconds: number | undefined;
  lagSeconds: boolean;
}

/** `kafka-dispatch lag --group G [--topic T ...] [--brokers B] [--initial-offset P] [--json] [--watch [S]]`. */
export async function lagCommand(argv: string[]): Promise<number> {
  let options: LagOptions;
  let env: ReturnType<typeof loadEnvLayer>;
  try {
    env = loadEnvLayer(process.env);
    for (const issue of env.issues) process.stderr.write(`kafka-dispatch lag: warning: ${issue.path}: ${issue.message}\n`);
    const parsed = parseLagArgs(argv, env.values);
    if (parsed === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    options = parsed;
  } catch (error) {
    process.stderr.write(`kafka-dispatch lag: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }

  const kafka = createKafka(
    { ...DEFAULTS, ...env.values, clientId: 'kafka-dispatch-lag', brokers: options.brokers },
    createLogger({ level: 'silent' }),
  );
  const admin = kafka.admin();
  const code = await run(kafka, admin, options);
  await admin.disconnect().catch(() => undefined);
  // kafkajs may still be retrying a connection to an unreachable broker: never hang on it.
  setTimeout(() => process.exit(code), 1000).unref();
  return code;
}

function parseLagArgs(argv: string[], env: ReturnType<typeof loadEnvLayer>['values']): LagOptions | 'help' {
  // --watch takes an optional value, which parseArgs cannot express: normalise to --watch=N.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--watch') {
      const next = argv[i + 1];
      if (next !== undefined && /^\d+(\.\d+)?$/.test(next)) {
        args.push(`--watch=${next}`);
        i++;
      } else args.push('--watch=5');
    } else args.push(arg);
  }
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      group: { type: 'string', short: 'g' },
      topic: { type: 'string', short: 't', multiple: true },
      brokers: { type: 'string' },
      'initial-offset': { type: 'string' },
      json: { type: 'boolean' },
      watch: { type: 'string' },
      'no-lag-seconds': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const group = values.group ?? env.groupId;
  if (!group) throw new UsageError('no consumer group: give --group (or set KAFKA_GROUP)');
  const brokers = values.brokers !== undefined ? splitList(values.brokers) : (env.brokers ?? []);
  if (brokers.length === 0) throw new UsageError('no brokers: give --brokers host:port (or set KAFKA_BROKERS)');
  const topics = values.topic !== undefined ? values.topic.flatMap(splitList) : (env.topics ?? []);
  const initialOffset = values['initial-offset'] ?? env.initialOffset ?? DEFAULTS.initialOffset;
  if (initialOffset !== 'earliest' && initialOffset !== 'latest')
    throw new UsageError(`--initial-offset must be earliest or latest, not "${initialOffset}"`);
  let watchSeconds: number | undefined;
  if (values.watch !== undefined) {
    watchSeconds = Number(values.watch);
    if (!Number.isFinite(watchSeconds) || watchSeconds <= 0)
      throw new UsageError(`--watch needs a number of seconds > 0, not "${values.watch}"`);
  }
  return { group, topics, brokers, initialOffset, json: values.json ?? false, watchSeconds, lagSeconds: !values['no-lag-seconds'] };
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

async function run(kafka: Kafka, admin: Admin, options: LagOptions): Promise<number> {
  try {
    await withTimeout(
      admin.connect(),
      CONNECT_TIMEOUT_MS,
      `no answer from the brokers ${options.brokers.join(',')} within ${CONNECT_TIMEOUT_MS / 1000} s`,
    );
  } catch (error) {
    const message = (error as Error).message;
    process.stderr.write(
      `kafka-dispatch lag: ${message.startsWith('no answer') ? message : `cannot connect to the brokers ${options.brokers.join(',')}: ${message}`}\n`,
    );
    return 1;
  }
  const reader = new LagReader(admin);
  if (options.watchSeconds === undefined) {
    try {
      print(await measure(kafka, reader, options), options);
      return 0;
    } catch (error) {
      process.stderr.write(`kafka-dispatch lag: ${(error as Error).message}\n`);
      return 1;
    }
  }

  // --watch: refresh until SIGINT/SIGTERM; a failed refresh is reported and the next one tried.
  let stopped = false;
  let wake: () => void = () => {};
  const stop = () => {
    stopped = true;
    wake();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    while (!stopped) {
      try {
        const lag = await measure(kafka, reader, options);
        if (stopped) break;
        if (!options.json && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
        else if (!options.json) process.stdout.write('\n');
        if (!options.json) process.stdout.write(`${new Date().toISOString()}  every ${options.watchSeconds} s, Ctrl-C to stop\n`);
        print(lag, options);
      } catch (error) {
        process.stderr.write(`kafka-dispatch lag: ${(error as Error).message}\n`);
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.watchSeconds! * 1000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}

async function measure(kafka: Kafka, reader: LagReader, options: LagOptions): Promise<GroupLag> {
  const lag = await withTimeout(
    reader.read(options.group, options.topics, options.initialOffset),
    CONNECT_TIMEOUT_MS,
    `could not read the lag of group "${options.group}" within ${CONNECT_TIMEOUT_MS / 1000} s`,
  );
  if (!options.lagSeconds) return lag;
  // Where the group would resume: its committed offset; never committed with earliest: the log start.
  // Never committed with latest: it would start at the end, so there is no oldest record (left unknown).
  const starts = lag.partitions.flatMap((p) => {
    const offset = p.committedOffset ?? (options.initialOffset === 'earliest' ? p.logStartOffset : undefined);
    return offset === undefined ? [] : [{ topic: p.topic, partition: p.partition, offset, endOffset: p.endOffset }];
  });
  const now = Date.now();
  const timestamps = await oldestUnconsumedTimestamps(kafka, starts, TIMESTAMPS_TIMEOUT_MS);
  for (const p of lag.partitions) {
    const start = starts.find((s) => s.topic === p.topic && s.partition === p.partition);
    if (!start) continue;
    if (start.offset >= p.endOffset) p.lagSeconds = 0;
    else {
      const ts = timestamps.get(partitionId(p.topic, p.partition));
      if (ts !== undefined) p.lagSeconds = Math.max(0, Math.round(now - ts) / 1000);
    }
  }
  return lag;
}

function print(lag: GroupLag, options: LagOptions): void {
  if (options.json) {
    // committedOffset: null rather than an absent key when the partition was never committed.
    process.stdout.write(
      `${JSON.stringify(lag, (key, value: unknown) => (key === 'committedOffset' && value === undefined ? null : value))}\n`,
    );
    return;
  }
  process.stdout.write(formatTable(lag));
}

/** The table of `kafka-consumer-groups --describe`, plus LAG-SECONDS and a TOTAL line per topic. */
export function formatTable(lag: GroupLag): string {
  const header = ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'LAG-SECONDS', 'OWNER'];
  const rows: string[][] = [];
  const dash = (v: number | string | undefined) => (v === undefined ? '-' : String(v));
  const seconds = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1));
  const topics = [...new Set(lag.partitions.map((p) => p.topic))];
  for (const topic of topics) {
    const parts = lag.partitions.filter((p) => p.topic === topic);
    for (const p of parts) {
      rows.push([
        lag.groupId,
        p.topic,
        String(p.partition),
        dash(p.committedOffset),
        String(p.endOffset),
        String(p.lag),
        seconds(p.lagSeconds),
        dash(p.owner),
      ]);
    }
    const known = parts.map((p) => p.lagSeconds).filter((v): v is number => v !== undefined);
    const maxSeconds = known.length === parts.length && known.length > 0 ? Math.max(...known) : undefined;
    rows.push([lag.groupId, topic, 'TOTAL', '-', '-', String(lag.totalByTopic[topic] ?? 0), seconds(maxSeconds), '-']);
  }
  if (rows.length === 0)
    return `group "${lag.groupId}": no topics (none given with --topic, and the group has no committed offsets or members)\n`;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ') + '\n';
  return line(header) + rows.map(line).join('');
}
