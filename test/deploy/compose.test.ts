import { execFile } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { IMAGE_NODE_OPTIONS } from '../../bench/lib.js';
import { OPTIONS } from '../../src/config/schema.js';
import { KAFKA_VERSION } from '../../tools/broker/local-broker.js';
import { USAGE as LOADGEN_USAGE } from '../../tools/loadgen/options.js';
import { ROOT } from '../helpers/cli.js';
import { readDockerfile } from '../helpers/dockerfile.js';

// No Docker engine here: the compose file is validated against the Compose specification's JSON
// schema (compose-spec/compose-spec schema/compose-spec.json, Apache-2.0, as the dclint package ships
// it) and checked against what the code reads, instead of run.
interface Healthcheck {
  test: string[];
}
interface Service {
  image?: string;
  build?: string | { context: string; target?: string };
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: Healthcheck;
  restart?: string;
  profiles?: string[];
}
interface Compose {
  services: Record<string, Service>;
}

const TEXT = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
const RAW = parse(TEXT) as unknown;

/**
 * Compose's interpolation with no variable set (what `docker compose up` does on a clean shell):
 * `${VAR:-default}` and `${VAR-default}` give the default, `${VAR}` and `$VAR` the empty string, `$$` a `$`.
 */
function interpolate(value: unknown, env: Record<string, string> = {}): unknown {
  if (typeof value === 'string')
    return value.replace(
      /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
      (all, name, colon, fallback, bare) => {
        if (all === '$$') return '$';
        const set = env[(name ?? bare) as string];
        if (fallback !== undefined) return set === undefined || (colon === ':' && set === '') ? (fallback as string) : set;
        return set ?? '';
      },
    );
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]));
  return value;
}

const compose = interpolate(RAW) as Compose;
const services = compose.services;
const dispatcher = services.dispatcher!;
const env = Object.fromEntries(Object.entries(dispatcher.environment ?? {}).map(([k, v]) => [k, String(v)]));

/** The environment the dispatcher reads: the configuration schema's options, plus the logger's two. */
const DISPATCHER_ENV = new Set([...OPTIONS.flatMap((o) => o.env), 'LOG_LEVEL', 'LOG_FORMAT']);
const DEMO_SINK_ENV = new Set([
  'PORT',
  'HOST',
  'DEMO_SINK_LATENCY_MS',
  'DEMO_SINK_LATENCY_JITTER_MS',
  'DEMO_SINK_CONCURRENCY',
  'DEMO_SINK_QUEUE_DEPTH',
]);

function composeSchemaValidator() {
  const require = createRequire(import.meta.url);
  const path = join(require.resolve('dclint/package.json'), '..', 'schemas', 'compose.schema.json');
  const schema = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  expect(schema.title).toBe('Compose Specification');
  // The schema names draft-07 by its https address; Ajv knows draft-07 as http://json-schema.org/draft-07/schema#.
  delete schema.$schema;
  return new Ajv({ allErrors: true, strict: false }).compile(schema);
}

/** The URL a `node -e "fetch('…')…"` healthcheck fetches. */
function healthcheckUrl(service: Service): URL {
  const test = service.healthcheck!.test;
  expect(test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
  return new URL(/fetch\('([^']+)'\)/.exec(test[3]!)![1]!);
}

/** Runs a service's node healthcheck script against `port` on this machine; resolves with its exit code. */
async function runHealthcheck(service: Service, port: number): Promise<number> {
  const url = healthcheckUrl(service);
  const script = service.healthcheck!.test[3]!.replace(url.href, `http://127.0.0.1:${port}${url.pathname}`);
  try {
    await promisify(execFile)(process.execPath, ['-e', script], { timeout: 10_000 });
    return 0;
  } catch (error) {
    return (error as { code: number }).code;
  }
}

describe('docker-compose.yml', () => {
  it('is a valid Compose file by the Compose specification’s schema, as written and interpolated', () => {
    const validate = composeSchemaValidator();
    for (const doc of [RAW, compose]) {
      const ok = validate(doc);
      expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
      expect(ok).toBe(true);
    }
    // And the validator does reject what Compose would: a misspelt key, a wrong depends_on condition.
    expect(validate({ services: { a: { image: 'x', enviroment: {} } } })).toBe(false);
    expect(validate({ services: { a: { image: 'x', depends_on: { b: { condition: 'service_done' } } } } })).toBe(false);
  });

  it('runs Kafka from the official apache/kafka image at the local broker’s version, KRaft, single node', () => {
    const kafka = services.kafka!;
    expect(kafka.image).toBe(`apache/kafka:${KAFKA_VERSION}`);
    expect(services['create-topic']!.image).toBe(kafka.image);
    expect(kafka.environment).toMatchObject({ KAFKA_PROCESS_ROLES: 'broker,controller', KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: 1 });
    expect(kafka.healthcheck).toBeDefined();
  });

  it('creates the dispatcher’s topic with several partitions before the dispatcher starts', () => {
    const create = services['create-topic']!;
    const args = create.command!;
    const arg = (flag: string) => args[args.indexOf(flag) + 1];
    expect(args[0]).toBe('/opt/kafka/bin/kafka-topics.sh');
    expect(args).toContain('--create');
    expect(args).toContain('--if-not-exists');
    expect(arg('--topic')).toBe(env.KAFKA_TOPICS);
    expect(Number(arg('--partitions'))).toBeGreaterThan(1);
    expect(arg('--bootstrap-server')).toBe(env.KAFKA_BROKERS);
    expect(create.depends_on).toEqual({ kafka: { condition: 'service_healthy' } });
    expect(dispatcher.depends_on!['create-topic']).toEqual({ condition: 'service_completed_successfully' });
    // A one-shot: compose must not restart it once it exited 0.
    expect(create.restart).toBe('no');
    // The broker makes no topic by itself, so a typo in KAFKA_TOPICS fails the start instead.
    expect(services.kafka!.environment!.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
  });

  it('gives the dispatcher only environment variables the configuration schema reads, each valid, pointing at the compose services', () => {
    expect(dispatcher.command).toEqual(['run']);
    for (const name of Object.keys(env)) expect(DISPATCHER_ENV, `dispatcher env ${name}`).toContain(name);
    for (const [name, value] of Object.entries(env)) {
      const option = OPTIONS.find((o) => (o.env as readonly string[]).includes(name));
      if (option) expect('value' in option.parse(value), `${name}=${value}`).toBe(true);
    }
    const kafkaListener = String(services.kafka!.environment!.KAFKA_ADVERTISED_LISTENERS);
    expect(kafkaListener).toContain(`PLAINTEXT://${env.KAFKA_BROKERS}`);
    const sink = new URL(env.K_SINK!);
    expect(Object.keys(services)).toContain(sink.hostname);
    expect(services[sink.hostname]!.environment!.PORT).toBe(sink.port);
    // The demo loses nothing: a new group starts at the topic's beginning; key ordering lets the sink scale.
    expect(env).toMatchObject({ KAFKA_INITIAL_OFFSET: 'earliest', ORDERING: 'key' });
    expect(dispatcher.restart).toBe('unless-stopped');
    // Nor does it overrun the demo sink: at most its slots plus its queue (10 × its concurrency by
    // default, no DEMO_SINK_QUEUE_DEPTH here) in flight, so no record meets a 503 and runs out of retries.
    const sinkEnv = services['demo-sink']!.environment!;
    expect(sinkEnv.DEMO_SINK_QUEUE_DEPTH).toBeUndefined();
    expect(Number(env.MAX_IN_FLIGHT)).toBeLessThanOrEqual(11 * Number(sinkEnv.DEMO_SINK_CONCURRENCY));
    expect(dispatcher.depends_on!['demo-sink']).toEqual({ condition: 'service_healthy' });
  });

  it('uses one metrics port for the dispatcher’s METRICS_PORT, its published port, its healthcheck and Prometheus’s target', () => {
    const port = env.METRICS_PORT!;
    expect(dispatcher.ports).toContain(`127.0.0.1:${port}:${port}`);
    const health = healthcheckUrl(dispatcher);
    expect(health.port).toBe(port);
    expect(health.pathname).toBe('/readyz');
    const prometheus = parse(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: Array<{ job_name: string; metrics_path?: string; static_configs: Array<{ targets: string[] }> }>;
    };
    const job = prometheus.scrape_configs.find((j) => j.job_name === 'kafka-dispatch')!;
    expect(job.static_configs.flatMap((s) => s.targets)).toEqual([`dispatcher:${port}`]);
    expect(job.metrics_path ?? '/metrics').toBe('/metrics');
    // Prometheus reads deploy/prometheus/ where compose mounts it, rule files included.
    const service = services.prometheus!;
    expect(service.image).toMatch(/^prom\/prometheus:v\d/);
    expect(service.volumes).toContain('./deploy/prometheus:/etc/prometheus:ro');
    expect(service.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    for (const file of prometheus.rule_files) expect(existsSync(join(ROOT, 'deploy/prometheus', file)), file).toBe(true);
    expect(services.grafana!.image).toMatch(/^grafana\/grafana:\d/);
    expect(services.grafana!.depends_on).toEqual({ prometheus: { condition: 'service_healthy' } });
  });

  it('has node healthchecks that pass on 200 and fail on 503 or no answer (the images have no curl)', async () => {
    let status = 200;
    const server = createServer((_req, res) => res.writeHead(status).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      for (const name of ['dispatcher', 'demo-sink']) {
        status = 200;
        expect(await runHealthcheck(services[name]!, port), `${name} healthy`).toBe(0);
        status = 503;
        expect(await runHealthcheck(services[name]!, port), `${name} answering 503`).toBe(1);
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await runHealthcheck(dispatcher, port), 'nothing listening').toBe(1);
    // The demo sink's check targets its own PORT and its /healthz.
    const sinkHealth = healthcheckUrl(services['demo-sink']!);
    expect(sinkHealth.port).toBe(services['demo-sink']!.environment!.PORT);
    expect(sinkHealth.pathname).toBe('/healthz');
  });

  it('runs the load generator only under the load profile, against the dispatcher’s topic and brokers', () => {
    const loadgen = services.loadgen!;
    expect(loadgen.profiles).toEqual(['load']);
    for (const [name, service] of Object.entries(services)) if (name !== 'loadgen') expect(service.profiles, name).toBeUndefined();
    const args = loadgen.command!;
    expect(args.slice(0, 3)).toEqual(['node', 'build/tools/cli.js', 'loadgen']);
    expect(args[args.indexOf('--topic') + 1]).toBe(env.KAFKA_TOPICS);
    // Only variables the load generator's --help names as defaults.
    const reads = new Set(LOADGEN_USAGE.match(/\$[A-Z_]+/g)!.map((v) => v.slice(1)));
    for (const name of Object.keys(loadgen.environment ?? {})) expect(reads, `loadgen env ${name}`).toContain(name);
    expect(loadgen.environment!.KAFKA_BROKERS).toBe(env.KAFKA_BROKERS);
    expect(loadgen.depends_on).toEqual({ 'create-topic': { condition: 'service_completed_successfully' } });
    expect(loadgen.build).toEqual({ context: '.', target: 'tools' });
  });

  it('publishes every port on loopback only (Kafka here has no authentication)', () => {
    for (const [name, service] of Object.entries(services))
      for (const port of service.ports ?? []) expect(port, `${name} publishes ${port}`).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });

  it('gives the demo sink only variables it reads, and builds both from the repository Dockerfile', () => {
    const sink = services['demo-sink']!;
    // The demo sink is tooling: the Dockerfile's `tools` stage, started from build/.
    expect(sink.build).toEqual({ context: '.', target: 'tools' });
    expect(sink.command).toEqual(['node', 'build/tools/cli.js', 'demo-sink']);
    for (const name of Object.keys(sink.environment ?? {})) expect(DEMO_SINK_ENV, `demo-sink env ${name}`).toContain(name);
    expect(sink.ports).toContain(`127.0.0.1:${sink.environment!.PORT}:${sink.environment!.PORT}`);
    // The default target: the runtime stage, the product.
    expect(dispatcher.build).toBe('.');
    // Two images from two stages must not share a tag.
    expect(sink.image).not.toBe(dispatcher.image);
    const stages = readDockerfile();
    const stageEnv = (name: string) =>
      stages
        .find((s) => s.name === name)!
        .instructions.filter((i) => i.op === 'ENV')
        .map((i) => i.args);
    expect(stages.at(-1)!.instructions).toContainEqual({ op: 'ENTRYPOINT', args: '["node", "dist/cli/main.js"]' });
    expect(stageEnv('tools')).toContain('HOST=0.0.0.0');
    // The benchmark measures memory with the image's heap cap: they must agree.
    expect(stageEnv('runtime')).toContain(`NODE_OPTIONS="${IMAGE_NODE_OPTIONS}"`);
  });
});
