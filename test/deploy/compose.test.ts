import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { IMAGE_NODE_OPTIONS } from '../../bench/lib.js';
import { OPTIONS } from '../../src/config/options.js';
import { ROOT } from '../helpers/cli.js';
import { readDockerfile } from '../helpers/dockerfile.js';

// No Docker engine here: the compose file is checked against what the code reads instead of run.
interface Service {
  image?: string;
  build?: string | { context: string; target?: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
}
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const DISPATCHER_ENV = new Set([...OPTIONS.flatMap((o) => o.env), 'LOG_LEVEL', 'LOG_FORMAT']);
const DEMO_SINK_ENV = new Set([
  'PORT',
  'HOST',
  'DEMO_SINK_LATENCY_MS',
  'DEMO_SINK_LATENCY_JITTER_MS',
  'DEMO_SINK_CONCURRENCY',
  'DEMO_SINK_QUEUE_DEPTH',
]);

describe('docker-compose.yml', () => {
  it('runs the broker from the official apache/kafka image in KRaft mode, single node', () => {
    const kafka = compose.services.kafka!;
    expect(kafka.image).toMatch(/^apache\/kafka:/);
    expect(kafka.environment).toMatchObject({ KAFKA_PROCESS_ROLES: 'broker,controller', KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: 1 });
  });

  it('gives the dispatcher only environment variables the config loader reads, pointing at the compose services', () => {
    const dispatcher = compose.services.dispatcher!;
    expect(dispatcher.command).toEqual(['run']);
    for (const name of Object.keys(dispatcher.environment ?? {})) expect(DISPATCHER_ENV, `dispatcher env ${name}`).toContain(name);
    const env = dispatcher.environment!;
    const kafkaListener = String(compose.services.kafka!.environment!.KAFKA_ADVERTISED_LISTENERS);
    expect(kafkaListener).toContain(`PLAINTEXT://${env.KAFKA_BROKERS}`);
    const sink = new URL(env.K_SINK!);
    expect(Object.keys(compose.services)).toContain(sink.hostname);
    expect(compose.services[sink.hostname]!.environment!.PORT).toBe(sink.port);
    expect(dispatcher.ports).toContain(`${env.METRICS_PORT}:${env.METRICS_PORT}`);
    // Every value must also pass the loader's own validation.
    for (const [name, value] of Object.entries(env)) {
      const option = OPTIONS.find((o) => (o.env as readonly string[]).includes(name));
      if (option) expect('value' in option.parse(String(value)), `${name}=${value}`).toBe(true);
    }
  });

  it('gives the demo sink only variables it reads, and builds both from the repository Dockerfile', () => {
    const sink = compose.services['demo-sink']!;
    // The demo sink is tooling: the Dockerfile's `tools` stage, started from build/.
    expect(sink.build).toEqual({ context: '.', target: 'tools' });
    expect(sink.command).toEqual(['node', 'build/tools/cli.js', 'demo-sink']);
    for (const name of Object.keys(sink.environment ?? {})) expect(DEMO_SINK_ENV, `demo-sink env ${name}`).toContain(name);
    expect(sink.ports).toContain(`${sink.environment!.PORT}:${sink.environment!.PORT}`);
    // The default target: the runtime stage, the product.
    expect(compose.services.dispatcher!.build).toBe('.');
    // Two images from two stages must not share a tag.
    expect(sink.image).not.toBe(compose.services.dispatcher!.image);
    const stages = readDockerfile();
    const env = (name: string) =>
      stages
        .find((s) => s.name === name)!
        .instructions.filter((i) => i.op === 'ENV')
        .map((i) => i.args);
    expect(stages.at(-1)!.instructions).toContainEqual({ op: 'ENTRYPOINT', args: '["node", "dist/cli/main.js"]' });
    expect(env('tools')).toContain('HOST=0.0.0.0');
    // The benchmark measures memory with the image's heap cap: they must agree.
    expect(env('runtime')).toContain(`NODE_OPTIONS=${IMAGE_NODE_OPTIONS}`);
  });
});
