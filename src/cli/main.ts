#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { silenceKafkajsTimerWarning } from './node-warnings.js';

silenceKafkajsTimerWarning();

const USAGE = `usage: kafka-dispatch <command> [options]

commands:
  run         consume Kafka topics and dispatch every record to the sink (the production process)
  validate    check the configuration and print it resolved, secrets redacted; exit 2 when invalid
  lag         a consumer group's lag per partition with KEDA's rules (like kafka-consumer-groups --describe)

run 'kafka-dispatch <command> --help' for the options of a command; every configuration option is
listed in the README with its environment variable and KafkaSource equivalent.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return (await import('./run.js')).runCommand(rest);
    case 'validate':
      return (await import('./validate.js')).validateCommand(rest);
    case 'lag':
      return (await import('./lag.js')).lagCommand(rest);
    case '--version':
    case 'version': {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`${pkg.version}\n`);
      return 0;
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`kafka-dispatch: unknown command "${command}"\n\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`kafka-dispatch: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
