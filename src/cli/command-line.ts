import { silenceKafkajsTimerWarning } from './node-warnings.js';

export interface CommandLine {
  /** Prefix of error lines, e.g. `kafka-dispatch`. */
  name: string;
  usage: string;
  /** Each command's entry, loaded on demand so one command does not pay for another's imports. */
  commands: Record<string, (argv: string[]) => Promise<number>>;
  /** Printed by `--version` / `version` when given. */
  version?: () => string;
}

/**
 * A program of sub-commands: dispatches argv, answers help (exit 0; no command at all exits 2),
 * refuses an unknown command with exit 2, and turns a crash into exit 1 with the stack.
 */
export function runCommandLine(program: CommandLine, argv: string[] = process.argv.slice(2)): void {
  silenceKafkajsTimerWarning();
  const [command, ...rest] = argv;
  const run = async (): Promise<number> => {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      process.stdout.write(`${program.usage}\n`);
      return command === undefined ? 2 : 0;
    }
    if (program.version && (command === '--version' || command === 'version')) {
      process.stdout.write(`${program.version()}\n`);
      return 0;
    }
    const entry = Object.hasOwn(program.commands, command) ? program.commands[command] : undefined;
    if (!entry) {
      process.stderr.write(`${program.name}: unknown command "${command}"\n\n${program.usage}\n`);
      return 2;
    }
    return entry(rest);
  };
  run().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${program.name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
