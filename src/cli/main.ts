#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { runCommandLine } from './command-line.js';

const USAGE = `usage: kafka-dispatch <command> [options]

commands:
  run         consume Kafka topics and dispatch every record to the sink (the production process)
  validate    check the configuration and print it resolved, secrets redacted; exit 2 when invalid
  lag         a consumer group's lag per partition with KEDA's rules (like kafka-consumer-groups --describe)

run 'kafka-dispatch <command> --help' for the options of a command; every configuration option is
listed in the README with its environment variable and KafkaSource equivalent.`;

runCommandLine({
  name: 'kafka-dispatch',
  usage: USAGE,
  commands: {
    run: async (argv) => {
      const code = await (await import('./run.js')).runCommand(argv);
      // Everything the dispatcher opened is closed by now; a handle a library left behind must not
      // keep the process (and the pod) alive past its stop.
      setTimeout(() => process.exit(code), 1000).unref();
      return code;
    },
    validate: async (argv) => (await import('./validate.js')).validateCommand(argv),
    lag: async (argv) => (await import('./lag.js')).lagCommand(argv),
  },
  version: () => (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version,
});
