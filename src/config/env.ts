import { OPTIONS } from './schema.js';
import { emptyLayer, setValue, setValues, type ConfigLayer } from './layer.js';

/** Reads every option's environment variables; the first variable of an option that is set wins. */
export function loadEnvLayer(env: NodeJS.ProcessEnv): ConfigLayer {
  const layer = emptyLayer('environment');
  for (const option of OPTIONS) {
    const name = option.env.find((n) => env[n] !== undefined && env[n] !== '');
    if (!name) continue;
    const parsed = option.parse(env[name]!);
    if ('error' in parsed) layer.issues.push({ path: `env.${name}`, message: parsed.error });
    else {
      setValue(layer, option.key, parsed.value, `env.${name}`);
      if (option.implies) setValues(layer, option.implies, `env.${name}`);
    }
  }
  return layer;
}
