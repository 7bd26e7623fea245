import { ConfigError } from '../errors.js';
import { parseConfigArgs } from '../config/flags.js';
import { resolveConfig, type ResolvedConfig } from '../config/resolve.js';

export const EXIT_CONFIG = 2;

type FlagSpec = { type: 'string' | 'boolean'; short?: string };

/**
 * Shared by `run` and `validate`: flags, environment and an optional KafkaSource manifest → resolved
 * configuration. On any problem prints every one of them by field and returns the exit code 2.
 */
export function loadConfigOrExit(
  argv: string[],
  extraFlags: Record<string, FlagSpec> = {},
  env: NodeJS.ProcessEnv = process.env,
): { config: ResolvedConfig; extra: Record<string, string | boolean | undefined> } | { exitCode: number } {
  let parsed;
  try {
    parsed = parseConfigArgs(argv, extraFlags);
  } catch (error) {
    process.stderr.write(`kafka-dispatch: ${(error as Error).message}\n`);
    return { exitCode: EXIT_CONFIG };
  }
  try {
    const config = resolveConfig({ kafkasource: parsed.kafkasource, env, flags: parsed.layer });
    return { config, extra: parsed.extra };
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`kafka-dispatch: ${error.message}\n`);
      return { exitCode: EXIT_CONFIG };
    }
    throw error;
  }
}
