import { OPTIONS, optionFor, type OptionSpec, type SettingKey } from '../config/schema.js';

/**
 * `--help` of the commands. The configuration options, their environment variables and defaults
 * come from the configuration schema (src/config/schema.ts), so the help cannot drift from the code.
 */

/** One flag in a help text. */
export interface HelpEntry {
  /** `-f, --kafkasource FILE`. */
  flags: string;
  description: string;
  env?: readonly string[];
  default?: string;
}

const WIDTH = 100;
const FLAG_COLUMN = 38;
const ENV_COLUMN = 32;

function wrap(text: string, indent: number, width = WIDTH): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => `${' '.repeat(indent)}${l}`);
}

/** Flag, environment variable and default on one line, the description wrapped below it. */
export function renderEntries(entries: readonly HelpEntry[]): string {
  const columns = entries.some((e) => e.env !== undefined || e.default !== undefined);
  const out: string[] = columns ? [`  ${'FLAG'.padEnd(FLAG_COLUMN)}${'ENVIRONMENT'.padEnd(ENV_COLUMN)}DEFAULT`] : [];
  for (const entry of entries) {
    const env = entry.env?.join(' | ') ?? '';
    let head = `  ${entry.flags}`;
    if (env || entry.default !== undefined) {
      head = head.length + 2 > FLAG_COLUMN + 2 ? `${head}  ` : head.padEnd(FLAG_COLUMN + 2);
      head += entry.default !== undefined ? (env.length + 2 > ENV_COLUMN ? `${env}  ` : env.padEnd(ENV_COLUMN)) + entry.default : env;
    }
    out.push(head.trimEnd(), ...wrap(entry.description, 6));
  }
  return out.join('\n');
}

/** A configuration option as a help entry: its flag, every environment variable, its default and where a KafkaSource says the same. */
export function optionEntry(option: OptionSpec): HelpEntry {
  const kafkaSource = option.kafkaSource ? ` KafkaSource: ${option.kafkaSource}.` : '';
  return {
    flags: `--${option.flag} ${option.metavar}`,
    env: option.env,
    default: option.defaultText,
    description: `${option.description}${kafkaSource}`,
  };
}

/** A command's own flag that stands for a setting: the setting's environment variable, and its default unless the command has its own. */
export function settingEntry(key: SettingKey, entry: Omit<HelpEntry, 'env'>): HelpEntry {
  const option = optionFor(key);
  return { ...entry, env: option.env, default: entry.default ?? option.defaultText };
}

const CONFIGURATION = `configuration: every setting has a flag and an environment variable; each comes from, lowest
precedence first, its default, a KafkaSource manifest (--kafkasource), the environment, the flags.
Durations are seconds (2, 0.5) or ISO-8601 (PT0.5S); every flag takes a value (--kafka-tls true).`;

const KAFKASOURCE: HelpEntry = {
  flags: '-f, --kafkasource FILE',
  description:
    'A Knative KafkaSource manifest (sources.knative.dev v1, v1beta1, v1alpha1), with the ASK k8s.aliyun.com/* and kafka-dispatch/<flag> annotations.',
};
const HELP: HelpEntry = { flags: '-h, --help', description: 'This text.' };

const COMMANDS = {
  run: {
    usage: 'usage: kafka-dispatch run [--kafkasource FILE] [options]',
    summary:
      'Consumes the topics and POSTs every record to the sink: the production process. SIGTERM or SIGINT drains what was fetched within the shutdown grace, commits and exits; a second signal exits at once.',
    flags: [KAFKASOURCE, HELP],
    exit: 'Exit codes: 0 stopped, 1 start failure (e.g. no broker), 2 invalid configuration, 130 second signal.',
  },
  validate: {
    usage: 'usage: kafka-dispatch validate [--kafkasource FILE] [--json] [options]',
    summary: 'Checks the configuration and prints every resolved setting with where it came from, secrets redacted. Connects to nothing.',
    flags: [
      KAFKASOURCE,
      {
        flags: '--json',
        description: "Print {settings, origins} as JSON, keyed by the settings' internal (camelCase) names, durations in milliseconds.",
      },
      HELP,
    ],
    exit: 'Exit codes: 0 valid, 2 invalid (every problem is listed, each by its field).',
  },
} as const;

/** `kafka-dispatch run --help`, `kafka-dispatch validate --help`. */
export function configCommandHelp(command: keyof typeof COMMANDS): string {
  const c = COMMANDS[command];
  return [
    c.usage,
    '',
    ...wrap(c.summary, 0),
    '',
    'options:',
    renderEntries(c.flags),
    '',
    CONFIGURATION,
    '',
    renderEntries(OPTIONS.map(optionEntry)),
    '',
    c.exit,
  ].join('\n');
}
