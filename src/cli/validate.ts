import { redactSettings } from '../config/resolve.js';
import {
  OPTIONS,
  OWN_ANNOTATION_PREFIX,
  REQUIRED_SETTINGS,
  SETTING_KEYS,
  displayOf,
  formatValue,
  optionFor,
  type OptionSpec,
  type SettingKey,
} from '../config/schema.js';
import { orderedCeiling } from '../service/scaling-advice.js';
import { loadConfigOrExit } from './load-config.js';

/** `kafka-dispatch validate [--kafkasource FILE] [--json] [flags]`: check and print the resolved configuration. */
export async function validateCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const loaded = loadConfigOrExit('validate', argv, { json: { type: 'boolean' } }, env);
  if ('exitCode' in loaded) return loaded.exitCode;
  const { settings, origins, warnings } = loaded.config;
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
  if (settings.ordering === 'ordered') process.stderr.write(`note: ${orderedCeiling()}\n`);
  const redacted = redactSettings(settings);
  if (loaded.extra.json) {
    process.stdout.write(`${JSON.stringify({ settings: redacted, origins }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(formatSettings(redacted, origins));
  return 0;
}

/**
 * The resolved settings as a user sets them: by environment variable and flag, required ones first,
 * durations in seconds, objects as JSON, each with its source in brackets. `redacted` comes from
 * redactSettings, so secrets are already masked.
 */
export function formatSettings(redacted: Record<string, unknown>, origins: Partial<Record<SettingKey, string>>): string {
  const keys = [...REQUIRED_SETTINGS, ...SETTING_KEYS.filter((k) => !(REQUIRED_SETTINGS as SettingKey[]).includes(k))];
  const rows = keys.map((key) => {
    const origin = origins[key] ?? 'unset';
    const option = optionFrom(key, origin);
    const value = redacted[key];
    const unset = displayOf(key).unset;
    const text = value === undefined ? `(unset${unset ? `: ${unset}` : ''})` : formatValue(key, value);
    return { name: `${option.env.join(' / ')} (--${option.flag})`, text, origin };
  });
  const width = Math.max(...rows.map((r) => r.name.length));
  const lines = rows.map((r) => `  ${r.name.padEnd(width)}  ${r.text}  [${r.origin}]\n`);
  return `configuration is valid; resolved settings (source in brackets):\n${lines.join('')}`;
}

/** The option a value came through (`--retry-interval` for a backoff delay set by it), else the setting's main one. */
function optionFrom(key: SettingKey, origin: string): OptionSpec {
  const own = (o: OptionSpec) => `metadata.annotations["${OWN_ANNOTATION_PREFIX}${o.flag}"]`;
  return (
    OPTIONS.find(
      (o) => o.key === key && (o.env.some((e) => origin === `env.${e}`) || origin === `--${o.flag}` || (o.annotation && origin === own(o))),
    ) ?? optionFor(key)
  );
}
