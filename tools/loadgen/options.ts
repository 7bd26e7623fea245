import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../src/index.js';
import { parseSteps, type Shape } from './shapes.js';

type ConfigIssue = ConstructorParameters<typeof ConfigError>[0][number];

export const USAGE = `usage: node build/tools/cli.js loadgen --topic NAME [options]   (npm run loadgen -- ...)

Produces the article's load to a Kafka topic: the value {"id":12182,"template_name":"template_media/
videos/templates/8f3a5f293149095aa62958029e208501_1606889936.zip","width":360,"height":640} with the
id counting up per message (12182, 12183, …), the key a nanosecond wall-clock timestamp. Prints
progress on stderr and a summary on stdout: sent, failed, achieved rate, produce latency p50/p99.
Ctrl-C stops early and still prints the summary.

shapes (--shape, default burst; --rate alone means constant, --steps alone means step):
  burst                 every second, --concurrency messages at once, for --duration s (the article)
  constant              --rate messages/s spread evenly over --duration s
  ramp                  from --from to --to messages/s, linearly over --duration s
  step                  --steps rate:seconds,… one constant load after the other

options:
  --topic NAME          topic to produce to (required)
  --brokers LIST        bootstrap brokers, comma-separated (default $KAFKA_BROKERS or 127.0.0.1:9092)
  --shape NAME          burst | constant | ramp | step (default burst)
  --concurrency C       burst: messages per second, sent at once (default 50)
  --duration T          seconds of load for burst, constant and ramp (default 100)
  --rate R              constant: messages/s (default 50)
  --from R0             ramp: starting messages/s (default 0)
  --to R1               ramp: final messages/s (default 100)
  --steps LIST          step: rate:seconds,… e.g. 50:30,200:30,50:30 (default none)
  --partitions N        create the topic with N partitions if it is missing (default: do not create)
  --acks N              -1 (all in-sync replicas), 1 (leader) or 0 (default -1)
  --max-in-flight N     produce requests awaiting an ack at once (default 16)
  --max-batch N         most messages in one produce request (default 500)
  --value-bytes N       pad each value with a "pad" field to N bytes (default 0: the article's size)
  --sasl-mechanism M    plain | scram-sha-256 | scram-sha-512 (default $KAFKA_SASL_MECHANISM or none)
  --sasl-username U     (default $KAFKA_SASL_USERNAME)
  --sasl-password P     (default $KAFKA_SASL_PASSWORD; prefer the variable to the command line)
  --tls                 TLS to the brokers (default $KAFKA_TLS or false; on with --tls-ca)
  --tls-ca FILE         CA certificate (PEM) for the brokers (default $KAFKA_TLS_CA_FILE or system CAs)
  --json                print the summary as one JSON object on stdout (default off)
  -h, --help            this text

exit: 0 every message acked, 1 a message failed or Kafka could not be reached, 2 invalid options,
130 interrupted.`;

export interface LoadgenOptions {
  topic: string;
  brokers: string[];
  shape: Shape;
  partitions: number | undefined;
  acks: -1 | 0 | 1;
  maxInFlight: number;
  maxBatch: number;
  valueBytes: number;
  sasl: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | undefined;
  tls: { ca: string | undefined } | undefined;
  json: boolean;
}

/** The parsed options, 'help', or a ConfigError naming every option that is wrong (exit 2). */
export function parseLoadgenArgs(
  argv: string[],
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): LoadgenOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: joinNegativeNumbers(argv),
      strict: true,
      options: {
        topic: { type: 'string' },
        brokers: { type: 'string' },
        shape: { type: 'string' },
        concurrency: { type: 'string' },
        duration: { type: 'string' },
        rate: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        steps: { type: 'string' },
        partitions: { type: 'string' },
        acks: { type: 'string' },
        'max-in-flight': { type: 'string' },
        'max-batch': { type: 'string' },
        'value-bytes': { type: 'string' },
        'sasl-mechanism': { type: 'string' },
        'sasl-username': { type: 'string' },
        'sasl-password': { type: 'string' },
        tls: { type: 'boolean' },
        'tls-ca': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    // parseArgs names the option in its message ("Unknown option '--rat'").
    const message = (error as Error).message;
    throw new ConfigError([{ path: /'(--?[\w-]+)/.exec(message)?.[1] ?? 'arguments', message }]);
  }
  if (values.help) return 'help';
  const issues: ConfigIssue[] = [];
  const problem = (path: string, message: string) => issues.push({ path, message });
  const number = (flag: string, text: string | undefined, fallback: number, check: { min: number; integer?: boolean; above?: boolean }) => {
    if (text === undefined) return fallback;
    const n = text.trim() === '' ? NaN : Number(text);
    const ok = Number.isFinite(n) && (check.above ? n > check.min : n >= check.min) && (!check.integer || Number.isInteger(n));
    if (!ok) {
      problem(
        `--${flag}`,
        `must be ${check.integer ? 'an integer' : 'a number'} ${check.above ? '>' : '≥'} ${check.min}, got ${JSON.stringify(text)}`,
      );
      return fallback;
    }
    return n;
  };

  const topic = values.topic ?? '';
  if (!topic.trim()) problem('--topic', 'is required');
  const brokers = (values.brokers ?? env.KAFKA_BROKERS ?? '127.0.0.1:9092')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0 || brokers.some((b) => !/^[^\s:]+:\d+$/.test(b)))
    problem(
      values.brokers !== undefined ? '--brokers' : 'KAFKA_BROKERS',
      `must be host:port,… got ${JSON.stringify(values.brokers ?? env.KAFKA_BROKERS)}`,
    );

  const kind = values.shape ?? (values.steps !== undefined ? 'step' : values.rate !== undefined ? 'constant' : 'burst');
  const durationS = number('duration', values.duration, 100, { min: 0, above: true });
  let shape: Shape = { kind: 'burst', concurrency: 50, durationS };
  switch (kind) {
    case 'burst':
      shape = { kind, concurrency: number('concurrency', values.concurrency, 50, { min: 1, integer: true }), durationS };
      break;
    case 'constant':
      shape = { kind, rate: number('rate', values.rate, 50, { min: 0, above: true }), durationS };
      break;
    case 'ramp': {
      const from = number('from', values.from, 0, { min: 0 });
      const to = number('to', values.to, 100, { min: 0 });
      if (from === 0 && to === 0) problem('--to', 'a ramp from 0 to 0 sends nothing');
      shape = { kind, from, to, durationS };
      break;
    }
    case 'step': {
      const steps = values.steps === undefined ? 'is required with --shape step (e.g. 50:30,200:30,50:30)' : parseSteps(values.steps);
      if (typeof steps === 'string') problem('--steps', steps);
      else if (steps.every((s) => s.rate === 0)) problem('--steps', 'every step has rate 0: nothing to send');
      else shape = { kind, steps };
      break;
    }
    default:
      problem('--shape', `must be burst, constant, ramp or step, got ${JSON.stringify(kind)}`);
  }
  // An option of another shape is a mistake the user should hear about, not a silent no-op.
  const belongs: Record<string, string[]> = {
    concurrency: ['burst'],
    rate: ['constant'],
    from: ['ramp'],
    to: ['ramp'],
    steps: ['step'],
    duration: ['burst', 'constant', 'ramp'],
  };
  for (const [flag, kinds] of Object.entries(belongs)) {
    if (
      (values as Record<string, unknown>)[flag] !== undefined &&
      ['burst', 'constant', 'ramp', 'step'].includes(kind) &&
      !kinds.includes(kind)
    )
      problem(`--${flag}`, `does not apply to the ${kind} shape (it is for ${kinds.join(', ')})`);
  }

  const partitions = values.partitions === undefined ? undefined : number('partitions', values.partitions, 1, { min: 1, integer: true });
  const acksText = values.acks ?? '-1';
  if (!['-1', '0', '1', 'all'].includes(acksText)) problem('--acks', `must be -1, 0 or 1, got ${JSON.stringify(acksText)}`);
  const acks = (acksText === 'all' ? -1 : Number(acksText)) as -1 | 0 | 1;

  const mechanismText = (values['sasl-mechanism'] ?? env.KAFKA_SASL_MECHANISM ?? '').toLowerCase();
  const username = values['sasl-username'] ?? env.KAFKA_SASL_USERNAME ?? '';
  const password = values['sasl-password'] ?? env.KAFKA_SASL_PASSWORD ?? '';
  let sasl: LoadgenOptions['sasl'];
  if (mechanismText) {
    if (!['plain', 'scram-sha-256', 'scram-sha-512'].includes(mechanismText))
      problem('--sasl-mechanism', `must be plain, scram-sha-256 or scram-sha-512, got ${JSON.stringify(mechanismText)}`);
    else if (!username || !password)
      problem('--sasl-mechanism', 'SASL needs --sasl-username and a password (--sasl-password or KAFKA_SASL_PASSWORD)');
    else sasl = { mechanism: mechanismText as 'plain', username, password };
  } else if (values['sasl-username'] !== undefined || values['sasl-password'] !== undefined) {
    problem('--sasl-mechanism', 'SASL credentials need a mechanism (plain, scram-sha-256 or scram-sha-512)');
  }

  const caFile = values['tls-ca'] ?? env.KAFKA_TLS_CA_FILE;
  let ca: string | undefined;
  if (caFile) {
    try {
      ca = readFile(caFile);
    } catch (error) {
      problem(
        values['tls-ca'] !== undefined ? '--tls-ca' : 'KAFKA_TLS_CA_FILE',
        `cannot read ${JSON.stringify(caFile)}: ${(error as Error).message}`,
      );
    }
  }
  const tlsOn = values.tls ?? ['1', 'true', 'yes', 'on'].includes((env.KAFKA_TLS ?? '').toLowerCase());

  const options: LoadgenOptions = {
    topic,
    brokers,
    shape,
    partitions,
    acks,
    maxInFlight: number('max-in-flight', values['max-in-flight'], 16, { min: 1, integer: true }),
    maxBatch: number('max-batch', values['max-batch'], 500, { min: 1, integer: true }),
    valueBytes: number('value-bytes', values['value-bytes'], 0, { min: 0, integer: true }),
    sasl,
    tls: tlsOn || caFile ? { ca } : undefined,
    json: values.json ?? false,
  };
  if (issues.length > 0) throw new ConfigError(issues);
  return options;
}

/** `--acks -1` as `--acks=-1`: parseArgs would take a value starting with "-" for an option. */
function joinNegativeNumbers(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (/^--[\w-]+$/.test(arg) && arg !== '--' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}
