import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { parseConfigArgs } from '../../src/config/flags.js';
import { redactSettings, redactUrl, resolveConfig } from '../../src/config/resolve.js';
import type { Settings } from '../../src/config/settings.js';

let dir: string;
let fileNo = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kd-resolve-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a v1 KafkaSource with every required field, plus `spec` lines and annotations. */
function manifestFile(opts: { spec?: string; annotations?: Record<string, string> } = {}): string {
  const ann = opts.annotations
    ? `  annotations:\n${Object.entries(opts.annotations)
        .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
        .join('\n')}\n`
    : '';
  const file = join(dir, `ks-${++fileNo}.yaml`);
  writeFileSync(
    file,
    `apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata:
  name: src
  namespace: ns
${ann}spec:
  bootstrapServers: [manifest:9092]
  topics: [manifest-topic]
  consumerGroup: manifest-group
  sink:
    uri: http://manifest.example/
${opts.spec ?? ''}`,
  );
  return file;
}

const REQUIRED_ENV = { KAFKA_BROKERS: 'env:9092', KAFKA_TOPICS: 'env-topic', K_SINK: 'http://env.example/' };
const flags = (...argv: string[]) => parseConfigArgs(argv).layer;

function issuesOf(fn: () => unknown): ConfigError['issues'] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('KD_CONFIG_INVALID');
    return (error as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

interface PrecedenceCase {
  key: keyof Settings;
  manifest?: { spec?: string; annotations?: Record<string, string> };
  env?: Record<string, string>;
  flags?: string[];
  value: unknown;
  origin: string;
}

const PRECEDENCE: Array<[string, PrecedenceCase]> = [
  ['retry: default', { key: 'retry', value: 10, origin: 'default' }],
  [
    'retry: manifest over default',
    { key: 'retry', manifest: { spec: '  delivery: {retry: 3}\n' }, value: 3, origin: 'spec.delivery.retry' },
  ],
  [
    'retry: env over manifest',
    { key: 'retry', manifest: { spec: '  delivery: {retry: 3}\n' }, env: { RETRY_COUNT: '4' }, value: 4, origin: 'env.RETRY_COUNT' },
  ],
  [
    'retry: flag over env and manifest',
    {
      key: 'retry',
      manifest: { spec: '  delivery: {retry: 3}\n' },
      env: { RETRY_COUNT: '4' },
      flags: ['--retry-count', '5'],
      value: 5,
      origin: '--retry-count',
    },
  ],
  [
    'retry: flag over manifest',
    { key: 'retry', manifest: { spec: '  delivery: {retry: 3}\n' }, flags: ['--retry-count', '0'], value: 0, origin: '--retry-count' },
  ],
  ['retry: env over default', { key: 'retry', env: { RETRY_COUNT: '2' }, value: 2, origin: 'env.RETRY_COUNT' }],
  ['requestTimeoutMs: default', { key: 'requestTimeoutMs', value: 600_000, origin: 'default' }],
  [
    'requestTimeoutMs: manifest annotation',
    {
      key: 'requestTimeoutMs',
      manifest: { annotations: { 'k8s.aliyun.com/req-timeout': '60' } },
      value: 60_000,
      origin: 'metadata.annotations["k8s.aliyun.com/req-timeout"]',
    },
  ],
  [
    'requestTimeoutMs: env ISO over annotation',
    {
      key: 'requestTimeoutMs',
      manifest: { annotations: { 'k8s.aliyun.com/req-timeout': '60' } },
      env: { REQUEST_TIMEOUT: 'PT5S' },
      value: 5000,
      origin: 'env.REQUEST_TIMEOUT',
    },
  ],
  [
    'requestTimeoutMs: flag seconds over env',
    {
      key: 'requestTimeoutMs',
      env: { REQUEST_TIMEOUT: 'PT5S' },
      flags: ['--request-timeout', '0.5'],
      value: 500,
      origin: '--request-timeout',
    },
  ],
  ['groupId: default', { key: 'groupId', value: 'kafka-dispatch', origin: 'default' }],
  ['groupId: manifest', { key: 'groupId', manifest: {}, value: 'manifest-group', origin: 'spec.consumerGroup' }],
  [
    'groupId: env over manifest',
    { key: 'groupId', manifest: {}, env: { KAFKA_GROUP: 'env-group' }, value: 'env-group', origin: 'env.KAFKA_GROUP' },
  ],
  [
    'groupId: flag over env',
    {
      key: 'groupId',
      manifest: {},
      env: { KAFKA_GROUP: 'env-group' },
      flags: ['--group', 'flag-group'],
      value: 'flag-group',
      origin: '--group',
    },
  ],
  ['ordering: default', { key: 'ordering', value: 'ordered', origin: 'default' }],
  ['ordering: manifest', { key: 'ordering', manifest: { spec: '  ordering: unordered\n' }, value: 'unordered', origin: 'spec.ordering' }],
  [
    'ordering: env',
    { key: 'ordering', manifest: { spec: '  ordering: unordered\n' }, env: { ORDERING: 'key' }, value: 'key', origin: 'env.ORDERING' },
  ],
  [
    'ordering: flag',
    {
      key: 'ordering',
      manifest: { spec: '  ordering: unordered\n' },
      env: { ORDERING: 'key' },
      flags: ['--ordering', 'ordered'],
      value: 'ordered',
      origin: '--ordering',
    },
  ],
  ['initialOffset: default', { key: 'initialOffset', value: 'latest', origin: 'default' }],
  [
    'initialOffset: manifest',
    { key: 'initialOffset', manifest: { spec: '  initialOffset: earliest\n' }, value: 'earliest', origin: 'spec.initialOffset' },
  ],
  [
    'initialOffset: env',
    {
      key: 'initialOffset',
      manifest: { spec: '  initialOffset: earliest\n' },
      env: { KAFKA_INITIAL_OFFSET: 'latest' },
      value: 'latest',
      origin: 'env.KAFKA_INITIAL_OFFSET',
    },
  ],
  ['maxInFlight: default', { key: 'maxInFlight', value: 256, origin: 'default' }],
  ['maxInFlight: env', { key: 'maxInFlight', env: { MAX_IN_FLIGHT: '8' }, value: 8, origin: 'env.MAX_IN_FLIGHT' }],
  [
    'maxInFlight: flag',
    { key: 'maxInFlight', env: { MAX_IN_FLIGHT: '8' }, flags: ['--max-in-flight', '16'], value: 16, origin: '--max-in-flight' },
  ],
  ['consumers: default', { key: 'consumers', value: 1, origin: 'default' }],
  ['consumers: env', { key: 'consumers', env: { CONSUMERS: '4' }, value: 4, origin: 'env.CONSUMERS' }],
  ['consumers: manifest', { key: 'consumers', manifest: { spec: '  consumers: 2\n' }, value: 2, origin: 'spec.consumers' }],
  ['commitIntervalMs: default', { key: 'commitIntervalMs', value: 5000, origin: 'default' }],
  ['commitIntervalMs: env', { key: 'commitIntervalMs', env: { COMMIT_INTERVAL: '1' }, value: 1000, origin: 'env.COMMIT_INTERVAL' }],
  ['brokers: manifest', { key: 'brokers', manifest: {}, value: ['manifest:9092'], origin: 'spec.bootstrapServers' }],
  [
    'brokers: env over manifest',
    {
      key: 'brokers',
      manifest: {},
      env: { KAFKA_BROKERS: 'e1:9092, e2:9092' },
      value: ['e1:9092', 'e2:9092'],
      origin: 'env.KAFKA_BROKERS',
    },
  ],
  [
    'brokers: flag over env',
    {
      key: 'brokers',
      manifest: {},
      env: { KAFKA_BROKERS: 'e1:9092' },
      flags: ['--brokers', 'f1:9092'],
      value: ['f1:9092'],
      origin: '--brokers',
    },
  ],
  [
    'topics: env over manifest',
    { key: 'topics', manifest: {}, env: { KAFKA_TOPICS: 'a,b' }, value: ['a', 'b'], origin: 'env.KAFKA_TOPICS' },
  ],
  ['sinkUri: manifest', { key: 'sinkUri', manifest: {}, value: 'http://manifest.example/', origin: 'spec.sink.uri' }],
  [
    'sinkUri: env over manifest',
    { key: 'sinkUri', manifest: {}, env: { SINK_URI: 'http://env.example/' }, value: 'http://env.example/', origin: 'env.SINK_URI' },
  ],
  [
    'sinkUri: flag over env',
    {
      key: 'sinkUri',
      manifest: {},
      env: { K_SINK: 'http://env.example/' },
      flags: ['--sink', 'https://flag.example/x'],
      value: 'https://flag.example/x',
      origin: '--sink',
    },
  ],
  [
    'sinkHost: annotation',
    {
      key: 'sinkHost',
      manifest: { annotations: { 'k8s.aliyun.com/domain': 'svc.default' } },
      value: 'svc.default',
      origin: 'metadata.annotations["k8s.aliyun.com/domain"]',
    },
  ],
  [
    'sinkHost: flag over annotation',
    {
      key: 'sinkHost',
      manifest: { annotations: { 'k8s.aliyun.com/domain': 'svc.default' } },
      flags: ['--host-header', 'other.default'],
      value: 'other.default',
      origin: '--host-header',
    },
  ],
];

describe('precedence: defaults < KafkaSource < env < flags', () => {
  it.each(PRECEDENCE)('%s', (_name, c) => {
    const kafkasource = c.manifest ? manifestFile(c.manifest) : undefined;
    // Required fields come from the manifest when there is one, else from the environment.
    const env = { ...(kafkasource ? {} : REQUIRED_ENV), ...c.env };
    const { settings, origins } = resolveConfig({ kafkasource, env, flags: c.flags ? flags(...c.flags) : undefined });
    expect(settings[c.key]).toEqual(c.value);
    expect(origins[c.key]).toBe(c.origin);
  });

  it("with nothing given beyond the required fields, every delivery default is Knative's", () => {
    const { settings } = resolveConfig({ env: REQUIRED_ENV });
    expect(settings).toMatchObject({
      brokers: ['env:9092'],
      topics: ['env-topic'],
      sinkUri: 'http://env.example/',
      retry: 10,
      backoffPolicy: 'exponential',
      backoffDelayMs: 300,
      requestTimeoutMs: 600_000,
      initialOffset: 'latest',
      ordering: 'ordered',
      commitIntervalMs: 5000,
    });
  });

  it('ignores empty environment variables', () => {
    const { settings, origins } = resolveConfig({ env: { ...REQUIRED_ENV, RETRY_COUNT: '', ORDERING: '' } });
    expect(settings.retry).toBe(10);
    expect(origins.ordering).toBe('default');
  });

  it('reads process.env-shaped input only from the object it is given', () => {
    const { settings } = resolveConfig({ env: { ...REQUIRED_ENV, KAFKA_CLIENT_ID: 'mine' } });
    expect(settings.clientId).toBe('mine');
  });
});

describe('sink URI from the environment', () => {
  it.each([
    [
      'K_SINK wins over SINK_URI',
      { K_SINK: 'http://ksink.example/', SINK_URI: 'http://sinkuri.example/' },
      'http://ksink.example/',
      'env.K_SINK',
    ],
    ['SINK_URI alone', { SINK_URI: 'http://sinkuri.example/' }, 'http://sinkuri.example/', 'env.SINK_URI'],
    [
      'an empty K_SINK falls through to SINK_URI',
      { K_SINK: '', SINK_URI: 'http://sinkuri.example/' },
      'http://sinkuri.example/',
      'env.SINK_URI',
    ],
    ['K_SINK over the manifest', { K_SINK: 'http://ksink.example/' }, 'http://ksink.example/', 'env.K_SINK'],
  ] as const)('%s', (_name, env, uri, origin) => {
    const { settings, origins } = resolveConfig({ kafkasource: manifestFile(), env: { ...env } });
    expect(settings.sinkUri).toBe(uri);
    expect(origins.sinkUri).toBe(origin);
  });
});

describe('RETRY_INTERVAL / --retry-interval (ASK style) imply a fixed backoff', () => {
  it('env RETRY_INTERVAL sets the delay and the fixed policy', () => {
    const { settings, origins } = resolveConfig({ env: { ...REQUIRED_ENV, RETRY_INTERVAL: '2' } });
    expect(settings).toMatchObject({ backoffPolicy: 'fixed', backoffDelayMs: 2000 });
    expect(origins.backoffPolicy).toBe('env.RETRY_INTERVAL');
    expect(origins.backoffDelayMs).toBe('env.RETRY_INTERVAL');
  });

  it('env RETRY_INTERVAL overrides the manifest delivery policy', () => {
    const kafkasource = manifestFile({ spec: '  delivery: {retry: 3, backoffPolicy: linear, backoffDelay: PT1S}\n' });
    const { settings } = resolveConfig({ kafkasource, env: { RETRY_INTERVAL: '0.5' } });
    expect(settings).toMatchObject({ retry: 3, backoffPolicy: 'fixed', backoffDelayMs: 500 });
  });

  it('--retry-interval over env BACKOFF_POLICY', () => {
    const { settings } = resolveConfig({ env: { ...REQUIRED_ENV, BACKOFF_POLICY: 'linear' }, flags: flags('--retry-interval', '1.5') });
    expect(settings).toMatchObject({ backoffPolicy: 'fixed', backoffDelayMs: 1500 });
  });

  it('--backoff-delay and --backoff-policy set the delay and the policy', () => {
    const { settings } = resolveConfig({ env: REQUIRED_ENV, flags: flags('--backoff-delay', 'PT0.3S', '--backoff-policy', 'linear') });
    expect(settings).toMatchObject({ backoffPolicy: 'linear', backoffDelayMs: 300 });
  });
});

describe('errors', () => {
  it('names the env variable and the flag of each missing required field', () => {
    const issues = issuesOf(() => resolveConfig({ env: {} }));
    expect(issues.map((i) => i.path).sort()).toEqual(['brokers', 'sinkUri', 'topics']);
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath.brokers).toContain('KAFKA_BROKERS');
    expect(byPath.brokers).toContain('--brokers');
    expect(byPath.brokers).toContain('spec.bootstrapServers');
    expect(byPath.topics).toContain('KAFKA_TOPICS');
    expect(byPath.topics).toContain('--topics');
    expect(byPath.sinkUri).toContain('K_SINK');
    expect(byPath.sinkUri).toContain('SINK_URI');
    expect(byPath.sinkUri).toContain('--sink');
  });

  it('only the missing one is reported', () => {
    const issues = issuesOf(() => resolveConfig({ env: { KAFKA_BROKERS: 'b:9092', KAFKA_TOPICS: 't' } }));
    expect(issues.map((i) => i.path)).toEqual(['sinkUri']);
  });

  it('reports every problem of every layer at once, each with its path', () => {
    const kafkasource = manifestFile({ spec: '  initialOffset: middle\n', annotations: {} });
    const issues = issuesOf(() =>
      resolveConfig({
        kafkasource,
        env: { RETRY_COUNT: '-1', K_SINK: 'ftp://x', REQUEST_TIMEOUT: '0', BACKOFF_POLICY: 'random' },
        flags: flags('--max-in-flight', '0', '--ordering', 'chaos', '--commit-interval', 'soon'),
      }),
    );
    const paths = issues.map((i) => i.path);
    for (const path of [
      'spec.initialOffset',
      'env.RETRY_COUNT',
      'env.K_SINK',
      'env.REQUEST_TIMEOUT',
      'env.BACKOFF_POLICY',
      '--max-in-flight',
      '--ordering',
      '--commit-interval',
    ]) {
      expect(paths).toContain(path);
    }
    // An invalid K_SINK is reported as such, not also as "sinkUri is required".
    expect(paths).not.toContain('sinkUri');
  });

  it('each message quotes the value it refused', () => {
    const issues = issuesOf(() => resolveConfig({ env: { ...REQUIRED_ENV, RETRY_COUNT: 'lots', MAX_IN_FLIGHT: '1.5' } }));
    expect(issues.find((i) => i.path === 'env.RETRY_COUNT')!.message).toContain('"lots"');
    expect(issues.find((i) => i.path === 'env.MAX_IN_FLIGHT')!.message).toContain('"1.5"');
  });

  it('CONSUMERS out of range: the error names env.CONSUMERS and its range', () => {
    const issues = issuesOf(() => resolveConfig({ env: { ...REQUIRED_ENV, CONSUMERS: '100' } }));
    expect(issues).toEqual([{ path: 'env.CONSUMERS', message: 'must be an integer from 1 to 64, got "100"' }]);
  });

  it('the error message lists every path', () => {
    try {
      resolveConfig({ env: { RETRY_COUNT: 'x' } });
      expect.unreachable();
    } catch (error) {
      const message = (error as Error).message;
      for (const path of ['env.RETRY_COUNT', 'brokers', 'topics', 'sinkUri']) expect(message).toContain(path);
    }
  });

  it('an unknown flag throws from parseConfigArgs', () => {
    expect(() => parseConfigArgs(['--no-such-flag', 'x'])).toThrow();
  });

  it('a bad flag value is an issue at --flag', () => {
    const layer = flags('--retry-count', 'many', '--sink', 'not a url');
    expect(layer.issues.map((i) => i.path).sort()).toEqual(['--retry-count', '--sink']);
  });
});

describe('redaction', () => {
  it.each([
    ['http://user:secret@sink.example:8080/p?x=1', 'http://REDACTED:REDACTED@sink.example:8080/p?x=1'],
    ['https://a-token@sink.example/p', 'https://REDACTED:REDACTED@sink.example/p'],
    ['https://sink.example/p?token=abc&query=music', 'https://sink.example/p?token=REDACTED&query=music'],
    [
      'https://sink.example/p?access_token=a&api_key=b&client_secret=c&password=d',
      'https://sink.example/p?access_token=REDACTED&api_key=REDACTED&client_secret=REDACTED&password=REDACTED',
    ],
    ['https://bucket.example/o?X-Amz-Signature=abc&X-Amz-Date=1', 'https://bucket.example/o?X-Amz-Signature=REDACTED&X-Amz-Date=1'],
    ['http://120.26.143.xx/predict?query=music', 'http://120.26.143.xx/predict?query=music'],
    ['http://sink.example/', 'http://sink.example/'],
    ['not a url', 'not a url'],
  ])('%s → %s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });

  it('redactSettings masks the sink URI and leaves the rest', () => {
    const { settings } = resolveConfig({ env: { ...REQUIRED_ENV, K_SINK: 'https://u:pw@sink.example/?token=t' } });
    const redacted = redactSettings(settings);
    expect(redacted.sinkUri).toBe('https://REDACTED:REDACTED@sink.example/?token=REDACTED');
    expect(redacted.brokers).toEqual(['env:9092']);
    expect(settings.sinkUri).toBe('https://u:pw@sink.example/?token=t');
  });
});

describe('MIN_IN_FLIGHT against MAX_IN_FLIGHT', () => {
  it('the default floor (8) gives way to a smaller MAX_IN_FLIGHT', () => {
    const { settings } = resolveConfig({ env: { ...REQUIRED_ENV, MAX_IN_FLIGHT: '4' } });
    expect(settings.minInFlight).toBe(4);
    expect(settings.maxInFlight).toBe(4);
  });

  it('a MIN_IN_FLIGHT set above MAX_IN_FLIGHT is refused, naming the variable', () => {
    expect(() => resolveConfig({ env: { ...REQUIRED_ENV, MAX_IN_FLIGHT: '4', MIN_IN_FLIGHT: '10' } })).toThrow(
      /env\.MIN_IN_FLIGHT: must not be above MAX_IN_FLIGHT \(4\), got 10/,
    );
  });
});
