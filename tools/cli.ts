#!/usr/bin/env node
/**
 * The developer tools' entry: the demo, the demo sink and the local Kafka broker. They are not the
 * product: they compile into build/ (`npm run build:tools`), never into dist/, so neither the npm
 * package nor the runtime image carries them. They use the product only through src/index.ts.
 */
import { silenceKafkajsTimerWarning } from '../src/index.js';

silenceKafkajsTimerWarning();

const USAGE = `usage: node build/tools/cli.js <command> [options]

commands:
  demo        local broker + demo sink + dispatcher + a short load, with live progress (npm start)
  demo-sink   the demo inference service: GET|POST /predict?query=... answers an intent label (npm run demo-sink)
  kafka       a local Apache Kafka broker without Docker: start | stop | status | logs (npm run kafka)

run 'node build/tools/cli.js <command> --help' for the options of a command (npm start -- --help,
npm run demo-sink -- --help, npm run kafka -- --help).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo':
      return (await import('./commands/demo.js')).demoCommand(rest);
    case 'demo-sink':
      return (await import('./commands/demo-sink.js')).demoSinkCommand(rest);
    case 'kafka':
      return (await import('./commands/kafka.js')).kafkaCommand(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`kafka-dispatch tools: unknown command "${command}"\n\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`kafka-dispatch tools: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
