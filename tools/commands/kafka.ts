import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LocalBroker, tailFile, type LocalBrokerOptions } from '../broker/local-broker.js';
import { createLogger, DispatchError } from '../../src/index.js';

const USAGE = `usage: node build/tools/cli.js kafka <start|stop|status|logs> [options]   (npm run kafka -- ...)

Runs a local single-node Apache Kafka broker (KRaft) without Docker; needs Java 17+ and, on the
first run only, Maven to download the Kafka jars.

  start                 start the broker (does nothing when one already answers) and print its address
  stop                  stop the broker this tool started
  status                say whether it is running
  logs [-f] [-n N]      print the last N (default 100) lines of the broker log; -f keeps following

options:
  --port N              client port (default $KAFKA_LOCAL_PORT or 9092; controller port = N+1,
                        or $KAFKA_LOCAL_CONTROLLER_PORT)
  --cache-dir DIR       jars and broker state (default $KAFKA_DISPATCH_CACHE or ~/.cache/kafka-dispatch)
  -n, --lines N         logs: lines to print (default 100)
  -f, --follow          logs: keep following the log (default off)
  -h, --help            this text`;

function follow(file: string, from: number): Promise<number> {
  return new Promise((resolvePromise) => {
    let position = from;
    const timer = setInterval(() => {
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        return;
      }
      if (size < position) position = 0; // the log was rotated by a restart
      if (size === position) return;
      const fd = openSync(file, 'r');
      try {
        const buffer = Buffer.alloc(size - position);
        readSync(fd, buffer, 0, buffer.length, position);
        process.stdout.write(buffer);
        position = size;
      } finally {
        closeSync(fd);
      }
    }, 500);
    const stop = () => {
      clearInterval(timer);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolvePromise(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** `node build/tools/cli.js kafka start|stop|status|logs [--port N] [--cache-dir DIR]`; resolves to the exit code. */
export async function kafkaCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        port: { type: 'string' },
        'cache-dir': { type: 'string' },
        follow: { type: 'boolean', short: 'f', default: false },
        lines: { type: 'string', short: 'n' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 1;
  }
  const { values, positionals } = parsed;
  const action = positionals[0];
  if (values.help || action === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (action === undefined || !['start', 'stop', 'status', 'logs'].includes(action) || positionals.length > 1) {
    console.error(action === undefined ? USAGE : `unknown kafka command: ${positionals.join(' ')}\n\n${USAGE}`);
    return 1;
  }

  try {
    const options: LocalBrokerOptions = { logger: createLogger() };
    if (values.port !== undefined) {
      const port = Number(values.port);
      if (!Number.isInteger(port) || port < 1 || port > 65534) {
        console.error(`--port must be a port number, got ${JSON.stringify(values.port)}`);
        return 1;
      }
      options.port = port;
      // An explicit --port moves the controller along unless it is pinned by the environment.
      if (!process.env.KAFKA_LOCAL_CONTROLLER_PORT) options.controllerPort = port + 1;
    }
    if (values['cache-dir'] !== undefined) options.cacheDir = values['cache-dir'];
    const broker = new LocalBroker(options);

    switch (action) {
      case 'start': {
        const started = Date.now();
        const result = await broker.start();
        if (result.startedByUs) {
          console.log(`Kafka ${broker.version} started in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        } else {
          const status = broker.status();
          console.log(
            status.running
              ? `Kafka already running (pid ${status.pid})`
              : 'a Kafka broker not started by kafka-dispatch already answers on this port',
          );
        }
        console.log(`bootstrap: ${result.brokers}`);
        console.log(`log:       ${broker.logFile}`);
        console.log(`  e.g. KAFKA_BROKERS=${result.brokers}`);
        return 0;
      }
      case 'stop': {
        const result = await broker.stop();
        console.log(
          result.stopped
            ? `Kafka stopped (pid ${result.pid})`
            : `no local Kafka broker started by kafka-dispatch is running on port ${broker.port}`,
        );
        return 0;
      }
      case 'status': {
        const status = broker.status();
        console.log(status.running ? `running (pid ${status.pid})` : 'not running');
        console.log(`bootstrap: ${status.brokers}`);
        console.log(`version:   ${status.version}`);
        console.log(`data:      ${status.dataDir}`);
        console.log(`log:       ${status.logFile}`);
        return 0;
      }
      case 'logs': {
        const lines = values.lines === undefined ? 100 : Number(values.lines);
        if (!Number.isInteger(lines) || lines < 0) {
          console.error(`-n must be a number of lines, got ${JSON.stringify(values.lines)}`);
          return 1;
        }
        let size = 0;
        try {
          size = statSync(broker.logFile).size;
        } catch {
          if (!values.follow) {
            console.error(`no broker log yet at ${broker.logFile}`);
            return 1;
          }
        }
        const text = lines > 0 ? tailFile(broker.logFile, lines) : '';
        if (text) process.stdout.write(`${text}\n`);
        return values.follow ? await follow(broker.logFile, size) : 0;
      }
    }
    return 1;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(error instanceof DispatchError ? `error [${error.code}]: ${message}` : `error: ${message}`);
    return 1;
  }
}
