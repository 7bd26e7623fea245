import { ConfigError, type ConfigIssue } from '../errors.js';
import { loadEnvLayer } from './env.js';
import { readKafkaSourceFile } from './kafkasource.js';
import type { ConfigLayer } from './layer.js';
import { DEFAULTS, optionFor } from './options.js';
import type { PartialSettings, SettingKey, Settings } from './settings.js';

export interface ResolvedConfig {
  settings: Settings;
  origins: Record<SettingKey, string>;
  warnings: string[];
}

export interface ResolveInput {
  /** KafkaSource manifest path (`--kafkasource`). */
  kafkasource?: string | undefined;
  env?: NodeJS.ProcessEnv;
  flags?: ConfigLayer;
}

const REQUIRED: SettingKey[] = ['brokers', 'topics', 'sinkUri'];

/**
 * Precedence, lowest first: built-in defaults, the KafkaSource manifest, environment variables,
 * CLI flags. Every problem of every layer is reported at once.
 */
export function resolveConfig(input: ResolveInput): ResolvedConfig {
  const layers: ConfigLayer[] = [];
  if (input.kafkasource) layers.push(readKafkaSourceFile(input.kafkasource));
  layers.push(loadEnvLayer(input.env ?? process.env));
  if (input.flags) layers.push(input.flags);

  const values: PartialSettings = { ...DEFAULTS };
  const origins: Partial<Record<SettingKey, string>> = {};
  for (const key of Object.keys(DEFAULTS) as SettingKey[]) origins[key] = 'default';
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  for (const layer of layers) {
    Object.assign(values, layer.values);
    Object.assign(origins, layer.origins);
    issues.push(...layer.issues);
    warnings.push(...layer.warnings);
  }
  const failedPaths = new Set(issues.map((i) => i.path));
  for (const key of REQUIRED) {
    if (values[key] !== undefined) continue;
    const option = optionFor(key);
    // A value that was given but invalid is already reported under its own name.
    if (option.env.some((e) => failedPaths.has(`env.${e}`)) || failedPaths.has(`--${option.flag}`) || failedPaths.has(option.kafkaSource)) continue;
    issues.push({
      path: key,
      message: `is required: set ${option.env.join(' or ')}, --${option.flag}${option.kafkaSource !== '-' ? `, or ${option.kafkaSource} in a KafkaSource` : ''}`,
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { settings: values as Settings, origins: origins as Record<SettingKey, string>, warnings };
}

/** The configuration as `validate` prints it: credentials in URLs masked. */
export function redactSettings(settings: Settings): Record<string, unknown> {
  return { ...settings, sinkUri: redactUrl(settings.sinkUri) };
}

export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = '***';
    for (const name of [...url.searchParams.keys()]) {
      if (/token|secret|password|key|sig/i.test(name)) url.searchParams.set(name, '***');
    }
    return url.toString();
  } catch {
    return text;
  }
}
