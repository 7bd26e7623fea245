import { ConfigError } from '../errors.js';
import { parseConfigArgs } from '../config/flags.js';
import { resolveConfig, type ResolvedConfig } from '../config/resolve.js';
import { configCommandHelp } from './help.js';

export const EXIT_CONFIG = 2;

type FlagSpec = { type: 'string' | 'boolean'; short?: string };

/**
 * Shared by `run` and `validate`: flags, environment and an optional KafkaSource manifest → resolved
 * configuration. `-h`/`--help` prints the command's help (every option with its environment variable
 * and default) and returns exit code 0; on any problem prints every one of them by field and returns 2.
 */
export function loadConfigOrExit(
  command: 'run' | 'validate',
  argv: string[],
  extraFlags: Record<string, FlagSpec> = {},
  env: NodeJS.ProcessEnv = process.env,
): { config: ResolvedConfig; extra: Record<string, string | boolean | undefined> } | { exitCode: number } {
  let parsed;
  try {
    parsed = parseConfigArgs(argv, { ...extraFlags, help: { type: 'boolean', short: 'h' } });
  } catch (error) {
    process.stderr.write(
      `kafka-dispatch ${command}: ${(error as Error).message}\nrun 'kafka-dispatch ${command} --help' for every option\n`,
    );
    return { exitCode: EXIT_CONFIG };
  }
  if (parsed.extra.help) {
    process.stdout.write(`${configCommandHelp(command)}\n`);
    return { exitCode: 0 };
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
