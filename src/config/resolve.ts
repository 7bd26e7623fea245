import { ConfigError, type ConfigIssue } from '../errors.js';
import { loadEnvLayer } from './env.js';
import { readKafkaSourceFile } from './kafkasource.js';
import type { ConfigLayer } from './layer.js';
import { redactUrl } from './redact.js';
import { DEFAULTS, REQUIRED_SETTINGS, SETTING_KEYS, displayOf, optionFor } from './schema.js';
import { SECRET_SETTINGS, type PartialSettings, type SettingKey, type Settings } from './settings.js';

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

/**
 * Precedence, lowest first: built-in defaults, the KafkaSource manifest, environment variables,
 * CLI flags. Every problem of every layer is reported at once.
 */
export function resolveConfig(input: ResolveInput): ResolvedConfig {
  const env = input.env ?? process.env;
  const envLayer = loadEnvLayer(env);
  const secretsDir = input.flags?.values.secretsDir ?? envLayer.values.secretsDir ?? DEFAULTS.secretsDir;
  const layers: ConfigLayer[] = [];
  if (input.kafkasource) layers.push(readKafkaSourceFile(input.kafkasource, { secretsDir, env }));
  layers.push(envLayer);
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
  // A broken manifest may well hold the missing values: asking for them again would mislead.
  const manifestBroken = input.kafkasource !== undefined && layers[0]!.issues.length > 0;
  for (const key of manifestBroken ? [] : REQUIRED_SETTINGS) {
    if (values[key] !== undefined) continue;
    const option = optionFor(key);
    // A value that was given but invalid is already reported under its own name.
    if (
      option.env.some((e) => failedPaths.has(`env.${e}`)) ||
      failedPaths.has(`--${option.flag}`) ||
      (option.kafkaSource !== undefined && failedPaths.has(option.kafkaSource))
    )
      continue;
    issues.push({
      path: key,
      message: `is required: set ${option.env.join(' or ')}, --${option.flag}${option.kafkaSource !== undefined ? `, or ${option.kafkaSource} in a KafkaSource` : ''}`,
    });
  }
  checkCombinations(values, origins, issues);
  if (issues.length > 0) throw new ConfigError(issues);
  return { settings: values as Settings, origins: origins as Record<SettingKey, string>, warnings };
}

/** Settings that only make sense together. */
function checkCombinations(values: PartialSettings, origins: Partial<Record<SettingKey, string>>, issues: ConfigIssue[]): void {
  const at = (key: SettingKey) => origins[key] ?? key;
  if (values.saslMechanism && (!values.saslUsername || !values.saslPassword)) {
    issues.push({ path: at('saslMechanism'), message: 'SASL needs a username and a password (KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD)' });
  }
  if ((values.saslUsername || values.saslPassword) && !values.saslMechanism) {
    issues.push({
      path: at(values.saslUsername ? 'saslUsername' : 'saslPassword'),
      message: 'SASL credentials need a mechanism (KAFKA_SASL_MECHANISM=plain|scram-sha-256|scram-sha-512)',
    });
  }
  if (values.minInFlight !== undefined && values.maxInFlight !== undefined && values.minInFlight > values.maxInFlight) {
    // The default floor gives way to a smaller ceiling; only a floor set above it is a mistake.
    if (origins.minInFlight === 'default') values.minInFlight = values.maxInFlight;
    else
      issues.push({
        path: at('minInFlight'),
        message: `must not be above MAX_IN_FLIGHT (${values.maxInFlight}), got ${values.minInFlight}`,
      });
  }
  // A route has nothing to choose from without named sinks, and named sinks nothing to choose them without a route.
  const refused = (key: SettingKey) => {
    const option = optionFor(key);
    return issues.some(
      (i) => i.path === `env.${option.env[0]}` || i.path === `--${option.flag}` || i.path.includes(`kafka-dispatch/${option.flag}`),
    );
  };
  if (values.route !== undefined && values.sinks === undefined && !refused('sinks')) {
    issues.push({ path: at('route'), message: 'ROUTE chooses among named sinks: set SINKS (a map name → {uri, …}) too' });
  }
  if (values.sinks !== undefined && values.route === undefined && !refused('route')) {
    issues.push({ path: at('sinks'), message: 'SINKS are chosen per record by ROUTE: set ROUTE too (e.g. headers.model)' });
  }
  if (Boolean(values.tlsCert) !== Boolean(values.tlsKey)) {
    issues.push({
      path: at(values.tlsCert ? 'tlsCert' : 'tlsKey'),
      message: 'a Kafka client certificate needs its key, and the other way round',
    });
  }
  if (Boolean(values.sinkClientCert) !== Boolean(values.sinkClientKey)) {
    issues.push({
      path: at(values.sinkClientCert ? 'sinkClientCert' : 'sinkClientKey'),
      message: 'a sink client certificate needs its key, and the other way round',
    });
  }
}

/** The configuration as `validate` prints it: secrets replaced, credentials in URLs masked. */
export function redactSettings(settings: Settings): Record<string, unknown> {
  const out: Record<string, unknown> = { ...settings };
  for (const key of SETTING_KEYS) {
    const value = settings[key];
    const { display } = displayOf(key);
    if (display === 'url' && typeof value === 'string' && value) out[key] = redactUrl(value);
    if (display === 'pem' && typeof value === 'string' && value) out[key] = `(PEM, ${value.length} bytes)`;
  }
  for (const key of SECRET_SETTINGS) if (out[key] !== undefined) out[key] = '[redacted]';
  return out;
}

export { redactUrl };
