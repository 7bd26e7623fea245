import type { ConfigIssue } from '../errors.js';
import type { PartialSettings, SettingKey } from './settings.js';

/** What one source of configuration (a manifest, the environment, the flags) says. */
export interface ConfigLayer {
  name: string;
  values: PartialSettings;
  /** Where each value came from, e.g. `env.K_SINK` or `spec.delivery.retry`; `validate` prints it. */
  origins: Partial<Record<SettingKey, string>>;
  issues: ConfigIssue[];
  warnings: string[];
}

export function emptyLayer(name: string): ConfigLayer {
  return { name, values: {}, origins: {}, issues: [], warnings: [] };
}

export function setValue<K extends SettingKey>(layer: ConfigLayer, key: K, value: PartialSettings[K], origin: string): void {
  layer.values[key] = value;
  layer.origins[key] = origin;
}

export function setValues(layer: ConfigLayer, values: PartialSettings, origin: string): void {
  for (const [key, value] of Object.entries(values)) {
    (layer.values as Record<string, unknown>)[key] = value;
    layer.origins[key as SettingKey] = origin;
  }
}
