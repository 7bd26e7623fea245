import { parseArgs } from 'node:util';
import { OPTIONS } from './schema.js';
import { emptyLayer, setValue, setValues, type ConfigLayer } from './layer.js';

export interface ConfigArgs {
  /** Path of a KafkaSource manifest. */
  kafkasource: string | undefined;
  layer: ConfigLayer;
  /** Flags the command has besides configuration (e.g. `--json`). */
  extra: Record<string, string | boolean | undefined>;
}

type FlagSpec = { type: 'string' | 'boolean'; short?: string };

/**
 * Parses configuration flags (one per option, e.g. `--sink`, `--retry-count`) plus `--kafkasource`.
 * Throws on an unknown flag, which the CLI turns into exit code 2.
 */
export function parseConfigArgs(argv: string[], extraFlags: Record<string, FlagSpec> = {}): ConfigArgs {
  const options: Record<string, FlagSpec> = { kafkasource: { type: 'string', short: 'f' }, ...extraFlags };
  for (const option of OPTIONS) options[option.flag] = { type: 'string' };
  const { values } = parseArgs({ args: argv, options, allowPositionals: false, strict: true });
  const layer = emptyLayer('flags');
  for (const option of OPTIONS) {
    const text = values[option.flag];
    if (typeof text !== 'string') continue;
    const parsed = option.parse(text);
    if ('error' in parsed) layer.issues.push({ path: `--${option.flag}`, message: parsed.error });
    else {
      setValue(layer, option.key, parsed.value, `--${option.flag}`);
      if (option.implies) setValues(layer, option.implies, `--${option.flag}`);
    }
  }
  const extra: ConfigArgs['extra'] = {};
  for (const name of Object.keys(extraFlags)) extra[name] = values[name] as string | boolean | undefined;
  return { kafkasource: values.kafkasource as string | undefined, layer, extra };
}
