import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ASK, parseKafkaSource, readKafkaSourceFile } from '../../src/config/kafkasource.js';
import { resolveConfig } from '../../src/config/resolve.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/kafkasource.yaml', import.meta.url));
const ARTICLE = readFileSync(FIXTURE, 'utf8');

const annotation = (name: string) => `metadata.annotations["${name}"]`;

/** A minimal valid v1 KafkaSource with `extra` appended under `spec:` and `annotations` under metadata. */
function manifest(opts: { spec?: string; annotations?: Record<string, string>; apiVersion?: string } = {}): string {
  const ann = opts.annotations
    ? `  annotations:\n${Object.entries(opts.annotations)
        .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
        .join('\n')}\n`
    : '';
  return `apiVersion: ${opts.apiVersion ?? 'sources.knative.dev/v1'}
kind: KafkaSource
metadata:
  name: src
  namespace: ns
${ann}spec:
  bootstrapServers: [b1:9092]
  topics: [t1]
  sink:
    uri: http://sink.example/
${opts.spec ?? ''}`;
}

describe('the article manifest (v1alpha1, ASK annotations, comma-separated servers)', () => {
  it('becomes exactly these layer values', () => {
    const layer = parseKafkaSource(ARTICLE);
    expect(layer.issues).toEqual([]);
    expect(layer.warnings).toEqual([]);
    expect(layer.values).toMatchObject({
      brokers: [
        'alikafka-pre-cn-xxx-1-vpc.alikafka.aliyuncs.com:9092',
        'alikafka-pre-cn-7pp2kmoc7002-2-vpc.alikafka.aliyuncs.com:9092',
        'alikafka-pre-cn-xx-3-vpc.alikafka.aliyuncs.com:9092',
      ],
      topics: ['ai-info'],
      groupId: 'ai-info-consumer',
      sinkUri: 'http://120.26.143.xx/predict?query=music',
      sinkHost: 'test-ai-process.default.svc.cluster.local',
      requestTimeoutMs: 60_000,
      retry: 5,
      backoffPolicy: 'fixed',
      backoffDelayMs: 2000,
    });
    // No `delivery` block: nothing else of the delivery settings comes from the manifest.
    expect(layer.values).not.toHaveProperty('initialOffset');
    expect(layer.values).not.toHaveProperty('ordering');
  });

  it('records where each value came from', () => {
    const layer = parseKafkaSource(ARTICLE);
    expect(layer.origins).toMatchObject({
      brokers: 'spec.bootstrapServers',
      topics: 'spec.topics',
      groupId: 'spec.consumerGroup',
      sinkUri: 'spec.sink.uri',
      sinkHost: annotation(ASK.domain),
      requestTimeoutMs: annotation(ASK.reqTimeout),
      retry: annotation(ASK.retryCount),
      backoffPolicy: annotation(ASK.retryInterval),
      backoffDelayMs: annotation(ASK.retryInterval),
    });
  });

  it('reads the same from the file, and resolves with Knative defaults for the rest', () => {
    expect(readKafkaSourceFile(FIXTURE).values).toEqual(parseKafkaSource(ARTICLE).values);
    const { settings, warnings } = resolveConfig({ kafkasource: FIXTURE, env: {} });
    expect(warnings).toEqual([]);
    expect(settings).toMatchObject({
      groupId: 'ai-info-consumer',
      initialOffset: 'latest',
      ordering: 'ordered',
      retry: 5,
      backoffPolicy: 'fixed',
      backoffDelayMs: 2000,
      requestTimeoutMs: 60_000,
    });
  });

  it('an unreadable file is an issue at --kafkasource', () => {
    const layer = readKafkaSourceFile('/nonexistent/kafkasource.yaml');
    expect(layer.issues).toHaveLength(1);
    expect(layer.issues[0]!.path).toBe('--kafkasource');
    expect(layer.issues[0]!.message).toContain('/nonexistent/kafkasource.yaml');
  });
});

describe('v1 manifest shapes', () => {
  it.each([
    ['a list', '[b1:9092, b2:9092]', ['b1:9092', 'b2:9092']],
    ['a comma-separated string', '"b1:9092, b2:9092,b3:9092"', ['b1:9092', 'b2:9092', 'b3:9092']],
    ['a list of comma-separated strings', '["b1:9092,b2:9092", b3:9092]', ['b1:9092', 'b2:9092', 'b3:9092']],
    ['a single string', 'b1:9092', ['b1:9092']],
  ])('bootstrapServers and topics as %s', (_name, yaml, expected) => {
    const text = `apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata: {name: s}
spec:
  bootstrapServers: ${yaml}
  topics: ${yaml.replace(/b(\d):9092/g, 't$1')}
  sink: {uri: "http://sink/"}
`;
    const layer = parseKafkaSource(text);
    expect(layer.issues).toEqual([]);
    expect(layer.values.brokers).toEqual(expected);
    expect(layer.values.topics).toEqual(expected.map((b) => b.replace(/b(\d):9092/, 't$1')));
  });

  it.each(['sources.knative.dev/v1', 'sources.knative.dev/v1beta1', 'sources.knative.dev/v1alpha1'])(
    'accepts apiVersion %s',
    (apiVersion) => {
      expect(parseKafkaSource(manifest({ apiVersion })).issues).toEqual([]);
    },
  );

  it('takes spec.initialOffset, spec.ordering and spec.sink.uri', () => {
    const layer = parseKafkaSource(manifest({ spec: '  initialOffset: earliest\n  ordering: unordered\n' }));
    expect(layer.issues).toEqual([]);
    expect(layer.values).toMatchObject({ initialOffset: 'earliest', ordering: 'unordered', sinkUri: 'http://sink.example/' });
    expect(layer.origins).toMatchObject({ initialOffset: 'spec.initialOffset', ordering: 'spec.ordering' });
  });

  it('without consumerGroup the group is derived from namespace and name', () => {
    expect(parseKafkaSource(manifest()).values.groupId).toBe('kafka-dispatch-ns-src');
    const noNamespace = manifest().replace('  namespace: ns\n', '');
    expect(parseKafkaSource(noNamespace).values.groupId).toBe('kafka-dispatch-default-src');
  });

  it('finds the KafkaSource in a multi-document file', () => {
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n---\n${manifest()}`;
    const layer = parseKafkaSource(text);
    expect(layer.issues).toEqual([]);
    expect(layer.values.topics).toEqual(['t1']);
  });

  it('a sink.ref without uri is a warning, not an error', () => {
    const text = manifest().replace('    uri: http://sink.example/\n', '    ref: {kind: Service, name: svc}\n');
    const layer = parseKafkaSource(text);
    expect(layer.issues).toEqual([]);
    expect(layer.values).not.toHaveProperty('sinkUri');
    expect(layer.warnings).toHaveLength(1);
    expect(layer.warnings[0]).toContain('spec.sink.ref');
  });
});

describe('spec.consumers', () => {
  it('sets CONSUMERS: that many group members in the pod, no warning', () => {
    const layer = parseKafkaSource(manifest({ spec: '  consumers: 3\n' }));
    expect(layer.issues).toEqual([]);
    expect(layer.warnings).toEqual([]);
    expect(layer.values.consumers).toBe(3);
    expect(layer.origins.consumers).toBe('spec.consumers');
  });

  it('the environment overrides it, as every other manifest field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-consumers-'));
    try {
      const file = join(dir, 'source.yaml');
      writeFileSync(file, manifest({ spec: '  consumers: 3\n' }));
      expect(resolveConfig({ kafkasource: file, env: {} }).settings.consumers).toBe(3);
      expect(resolveConfig({ kafkasource: file, env: { CONSUMERS: '2' } }).settings.consumers).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([0, 65, 1.5])('%s is an error naming spec.consumers and the range', (consumers) => {
    const layer = parseKafkaSource(manifest({ spec: `  consumers: ${consumers}\n` }));
    expect(layer.issues).toEqual([expect.objectContaining({ path: 'spec.consumers', message: expect.stringContaining('from 1 to 64') })]);
  });
});

interface DeliveryCase {
  name: string;
  delivery: string | undefined;
  retry: number;
  backoffPolicy: string;
  backoffDelayMs: number;
  requestTimeoutMs: number;
}

const DELIVERY: DeliveryCase[] = [
  {
    name: 'delivery omitted',
    delivery: undefined,
    retry: 10,
    backoffPolicy: 'exponential',
    backoffDelayMs: 300,
    requestTimeoutMs: 600_000,
  },
  { name: 'delivery: {}', delivery: '{}', retry: 0, backoffPolicy: 'exponential', backoffDelayMs: 200, requestTimeoutMs: 600_000 },
  { name: 'only retry', delivery: '{retry: 3}', retry: 3, backoffPolicy: 'exponential', backoffDelayMs: 200, requestTimeoutMs: 600_000 },
  {
    name: 'only backoffPolicy',
    delivery: '{backoffPolicy: linear}',
    retry: 0,
    backoffPolicy: 'linear',
    backoffDelayMs: 200,
    requestTimeoutMs: 600_000,
  },
  {
    name: 'only backoffDelay',
    delivery: '{backoffDelay: PT1S}',
    retry: 0,
    backoffPolicy: 'exponential',
    backoffDelayMs: 1000,
    requestTimeoutMs: 600_000,
  },
  {
    name: 'only timeout',
    delivery: '{timeout: PT30S}',
    retry: 0,
    backoffPolicy: 'exponential',
    backoffDelayMs: 200,
    requestTimeoutMs: 30_000,
  },
  {
    name: 'only deadLetterSink',
    delivery: '{deadLetterSink: {uri: "http://dls/"}}',
    retry: 0,
    backoffPolicy: 'exponential',
    backoffDelayMs: 200,
    requestTimeoutMs: 600_000,
  },
  {
    name: 'retry without backoffDelay',
    delivery: '{retry: 5, backoffPolicy: exponential, timeout: PT10S}',
    retry: 5,
    backoffPolicy: 'exponential',
    backoffDelayMs: 200,
    requestTimeoutMs: 10_000,
  },
  {
    name: 'every field',
    delivery: '{retry: 5, backoffPolicy: linear, backoffDelay: PT0.5S, timeout: PT1M}',
    retry: 5,
    backoffPolicy: 'linear',
    backoffDelayMs: 500,
    requestTimeoutMs: 60_000,
  },
];

describe('Knative delivery defaults', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kd-kafkasource-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(DELIVERY)('$name → retry $retry, $backoffPolicy, $backoffDelayMs ms, timeout $requestTimeoutMs ms', (c) => {
    const text = manifest({ spec: c.delivery === undefined ? '' : `  delivery: ${c.delivery}\n` });
    const layer = parseKafkaSource(text);
    expect(layer.issues).toEqual([]);
    if (c.delivery === undefined) {
      for (const key of ['retry', 'backoffPolicy', 'backoffDelayMs', 'requestTimeoutMs']) expect(layer.values).not.toHaveProperty(key);
    } else {
      expect(layer.values).toMatchObject({
        retry: c.retry,
        backoffPolicy: c.backoffPolicy,
        backoffDelayMs: c.backoffDelayMs,
        requestTimeoutMs: c.requestTimeoutMs,
      });
    }
    const file = join(dir, `${c.name.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(file, text);
    const { settings } = resolveConfig({ kafkasource: file, env: {} });
    expect(settings).toMatchObject({
      retry: c.retry,
      backoffPolicy: c.backoffPolicy,
      backoffDelayMs: c.backoffDelayMs,
      requestTimeoutMs: c.requestTimeoutMs,
    });
  });
});

describe('ASK annotations', () => {
  it('alone: fixed retry-interval, req-timeout per attempt, retry-count, domain as Host; no warning', () => {
    const layer = parseKafkaSource(
      manifest({
        annotations: {
          [ASK.domain]: 'svc.ns.svc.cluster.local',
          [ASK.reqTimeout]: '1.5',
          [ASK.retryCount]: '3',
          [ASK.retryInterval]: '0.25',
        },
      }),
    );
    expect(layer.issues).toEqual([]);
    expect(layer.warnings).toEqual([]);
    expect(layer.values).toMatchObject({
      sinkHost: 'svc.ns.svc.cluster.local',
      requestTimeoutMs: 1500,
      retry: 3,
      backoffPolicy: 'fixed',
      backoffDelayMs: 250,
    });
  });

  it('win over spec.delivery field by field, with a warning naming each override', () => {
    const layer = parseKafkaSource(
      manifest({
        spec: '  delivery: {retry: 3, backoffPolicy: exponential, backoffDelay: PT1S, timeout: PT30S}\n',
        annotations: { [ASK.reqTimeout]: '60', [ASK.retryCount]: '5', [ASK.retryInterval]: '2' },
      }),
    );
    expect(layer.issues).toEqual([]);
    expect(layer.values).toMatchObject({ retry: 5, backoffPolicy: 'fixed', backoffDelayMs: 2000, requestTimeoutMs: 60_000 });
    expect(layer.warnings).toHaveLength(1);
    const warning = layer.warnings[0]!;
    expect(warning).toContain(`${ASK.reqTimeout} over spec.delivery.timeout`);
    expect(warning).toContain(`${ASK.retryCount} over spec.delivery.retry`);
    expect(warning).toContain(ASK.retryInterval);
  });

  it('only the annotated field is overridden; the others keep spec.delivery', () => {
    const layer = parseKafkaSource(
      manifest({
        spec: '  delivery: {retry: 3, backoffPolicy: linear, backoffDelay: PT1S, timeout: PT30S}\n',
        annotations: { [ASK.retryCount]: '7' },
      }),
    );
    expect(layer.values).toMatchObject({ retry: 7, backoffPolicy: 'linear', backoffDelayMs: 1000, requestTimeoutMs: 30_000 });
    expect(layer.origins).toMatchObject({ retry: annotation(ASK.retryCount), backoffDelayMs: 'spec.delivery.backoffDelay' });
    expect(layer.warnings).toHaveLength(1);
    expect(layer.warnings[0]).toContain(ASK.retryCount);
    expect(layer.warnings[0]).not.toContain(ASK.reqTimeout);
    expect(layer.warnings[0]).not.toContain(ASK.retryInterval);
  });

  it('no warning when the annotation replaces a field delivery only defaulted', () => {
    const layer = parseKafkaSource(manifest({ spec: '  delivery: {timeout: PT30S}\n', annotations: { [ASK.retryCount]: '4' } }));
    expect(layer.values).toMatchObject({ retry: 4, requestTimeoutMs: 30_000, backoffDelayMs: 200 });
    expect(layer.warnings).toEqual([]);
  });

  it('a retry-interval of 0 is allowed; a req-timeout of 0 is not', () => {
    const ok = parseKafkaSource(manifest({ annotations: { [ASK.retryInterval]: '0' } }));
    expect(ok.issues).toEqual([]);
    expect(ok.values).toMatchObject({ backoffPolicy: 'fixed', backoffDelayMs: 0 });
    const bad = parseKafkaSource(manifest({ annotations: { [ASK.reqTimeout]: '0' } }));
    expect(bad.issues.map((i) => i.path)).toEqual([annotation(ASK.reqTimeout)]);
  });

  it.each([
    [ASK.reqTimeout, 'abc'],
    [ASK.reqTimeout, '-1'],
    [ASK.reqTimeout, '60s'],
    [ASK.retryInterval, '2s'],
    [ASK.retryInterval, '1e3'],
    [ASK.retryCount, '2.5'],
    [ASK.retryCount, '-1'],
    [ASK.retryCount, 'five'],
    [ASK.domain, ' '],
  ])('%s: %j is an issue at its annotation path', (name, value) => {
    const layer = parseKafkaSource(manifest({ annotations: { [name]: value } }));
    expect(layer.issues).toHaveLength(1);
    expect(layer.issues[0]!.path).toBe(annotation(name));
  });

  it('an unquoted number annotation is reported under the same path as other annotation errors', () => {
    const text = manifest().replace('  namespace: ns\n', `  namespace: ns\n  annotations:\n    ${ASK.retryCount}: 5\n`);
    const layer = parseKafkaSource(text);
    expect(layer.issues).toHaveLength(1);
    expect(layer.issues[0]!.message).toContain('quote');
    expect(layer.issues[0]!.path).toBe(annotation(ASK.retryCount));
  });
});

describe('kafka-dispatch/<flag> annotations and the other fields that map to a setting', () => {
  it('the options the schema marks annotatable are read from annotations, parsed like their flag', () => {
    const layer = parseKafkaSource(
      manifest({
        annotations: { 'kafka-dispatch/max-in-flight': '16', 'kafka-dispatch/format': 'RAW', 'kafka-dispatch/max-record-age': 'PT1M' },
      }),
    );
    expect(layer.issues).toEqual([]);
    expect(layer.values).toMatchObject({ maxInFlight: 16, format: 'raw', maxRecordAgeMs: 60_000 });
    expect(layer.origins.maxInFlight).toBe(annotation('kafka-dispatch/max-in-flight'));
  });

  it('an option that is not annotatable is an unknown annotation, listing the known ones', () => {
    const layer = parseKafkaSource(manifest({ annotations: { 'kafka-dispatch/sink': 'http://x/' } }));
    expect(layer.issues.map((i) => i.path)).toEqual([annotation('kafka-dispatch/sink')]);
    expect(layer.issues[0]!.message).toContain(
      'known: max-in-flight, concurrency-limit, min-in-flight, backlog-drain, backlog-drain-share, max-in-flight-per-partition, format',
    );
  });

  it('ceOverrides.extensions become string attributes; sink.uri is normalised like --sink', () => {
    const layer = parseKafkaSource(
      manifest({ spec: '  ceOverrides: {extensions: {team: ai, tier: 2}}\n' }).replace('http://sink.example/', 'http://sink.example'),
    );
    expect(layer.issues).toEqual([]);
    expect(layer.values.ceExtensions).toEqual({ team: 'ai', tier: '2' });
    expect(layer.values.sinkUri).toBe('http://sink.example/');
  });

  it('the delivery.order annotation takes ordered or unordered, not key', () => {
    expect(parseKafkaSource(manifest({ annotations: { 'kafka.eventing.knative.dev/delivery.order': 'unordered' } })).values.ordering).toBe(
      'unordered',
    );
    const bad = parseKafkaSource(manifest({ annotations: { 'kafka.eventing.knative.dev/delivery.order': 'key' } }));
    expect(bad.issues).toEqual([
      { path: annotation('kafka.eventing.knative.dev/delivery.order'), message: 'must be ordered or unordered, got "key"' },
    ]);
  });
});

describe('manifest errors name their field', () => {
  it.each([
    ['wrong apiVersion', 'apiVersion', manifest({ apiVersion: 'sources.knative.dev/v2' })],
    ['wrong kind', 'kind', manifest().replace('kind: KafkaSource', 'kind: KafkaSink')],
    ['missing topics', 'spec.topics', manifest().replace('  topics: [t1]\n', '')],
    ['empty topics', 'spec.topics', manifest().replace('  topics: [t1]\n', '  topics: []\n')],
    ['missing bootstrapServers', 'spec.bootstrapServers', manifest().replace('  bootstrapServers: [b1:9092]\n', '')],
    ['invalid initialOffset', 'spec.initialOffset', manifest({ spec: '  initialOffset: middle\n' })],
    ['invalid ordering', 'spec.ordering', manifest({ spec: '  ordering: random\n' })],
    ['negative retry', 'spec.delivery.retry', manifest({ spec: '  delivery: {retry: -1}\n' })],
    ['bad backoffPolicy', 'spec.delivery.backoffPolicy', manifest({ spec: '  delivery: {backoffPolicy: fixed}\n' })],
    ['bad backoffDelay', 'spec.delivery.backoffDelay', manifest({ spec: '  delivery: {backoffDelay: 300ms}\n' })],
    ['bad timeout', 'spec.delivery.timeout', manifest({ spec: '  delivery: {timeout: PT}\n' })],
    ['sink uri not http', 'spec.sink.uri', manifest().replace('http://sink.example/', 'ftp://sink.example/')],
    // Fields that map to a setting are checked with that setting's schema.
    ['zero timeout', 'spec.delivery.timeout', manifest({ spec: '  delivery: {timeout: PT0S}\n' })],
    ['retry above the limit', 'spec.delivery.retry', manifest({ spec: '  delivery: {retry: 2000000}\n' })],
    [
      'dead-letter sink not http',
      'spec.delivery.deadLetterSink.uri',
      manifest({ spec: '  delivery: {deadLetterSink: {uri: "ftp://dls/"}}\n' }),
    ],
    [
      'CACerts not PEM',
      'spec.sink.CACerts',
      manifest().replace('    uri: http://sink.example/\n', '    uri: http://sink.example/\n    CACerts: /etc/ca.pem\n'),
    ],
    ['ceOverrides extension name', 'spec.ceOverrides.extensions', manifest({ spec: '  ceOverrides: {extensions: {Team: x}}\n' })],
    [
      'kafka-dispatch annotation out of range',
      annotation('kafka-dispatch/max-in-flight'),
      manifest({ annotations: { 'kafka-dispatch/max-in-flight': '0' } }),
    ],
    ['annotation not a number', annotation(ASK.reqTimeout), manifest({ annotations: { [ASK.reqTimeout]: 'abc' } })],
    ['invalid YAML', 'manifest', 'spec: [unclosed\nkind: x: y\n'],
  ])('%s → %s', (_name, path, text) => {
    const layer = parseKafkaSource(text);
    expect(layer.issues.map((i) => i.path)).toEqual([path]);
    expect(layer.issues[0]!.message.length).toBeGreaterThan(0);
  });

  it('invalid YAML names the file and says so', () => {
    const layer = parseKafkaSource('spec: [unclosed\n', 'ks.yaml');
    expect(layer.issues).toHaveLength(1);
    expect(layer.issues[0]!.path).toBe('ks.yaml');
    expect(layer.issues[0]!.message).toMatch(/^not valid YAML/);
  });

  it('reports every schema problem of one manifest at once', () => {
    const text = `apiVersion: sources.knative.dev/v2
kind: KafkaSink
metadata: {name: s}
spec:
  bootstrapServers: [b1:9092]
  initialOffset: middle
  delivery:
    backoffDelay: 300ms
    timeout: PT
`;
    const paths = parseKafkaSource(text).issues.map((i) => i.path);
    expect(paths.sort()).toEqual(
      ['apiVersion', 'kind', 'spec.delivery.backoffDelay', 'spec.delivery.timeout', 'spec.initialOffset', 'spec.topics'].sort(),
    );
  });

  it('reports annotation problems together with schema problems', () => {
    const text = manifest({
      apiVersion: 'sources.knative.dev/v2',
      spec: '  initialOffset: middle\n',
      annotations: { [ASK.reqTimeout]: 'abc', [ASK.retryCount]: 'five' },
    });
    const paths = parseKafkaSource(text).issues.map((i) => i.path);
    expect(paths.sort()).toEqual(['apiVersion', 'spec.initialOffset', annotation(ASK.reqTimeout), annotation(ASK.retryCount)].sort());
  });

  it('reports several annotation problems at once', () => {
    const layer = parseKafkaSource(
      manifest({ annotations: { [ASK.reqTimeout]: 'abc', [ASK.retryCount]: 'x', [ASK.retryInterval]: '-2', [ASK.domain]: '' } }),
    );
    expect(layer.issues.map((i) => i.path).sort()).toEqual(
      [ASK.domain, ASK.reqTimeout, ASK.retryCount, ASK.retryInterval].map(annotation).sort(),
    );
  });
});

describe('net: SASL and TLS from secretKeyRef', () => {
  const manifest = `apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata: { name: secure, namespace: prod }
spec:
  bootstrapServers: [broker:9093]
  topics: [t]
  net:
    sasl:
      enable: true
      user: { secretKeyRef: { name: kafka-creds, key: user } }
      password: { secretKeyRef: { name: kafka-creds, key: password } }
      type: { secretKeyRef: { name: kafka-creds, key: sasl.mechanism } }
    tls:
      enable: true
      caCert: { secretKeyRef: { name: kafka-tls, key: ca.crt } }
      cert: { secretKeyRef: { name: kafka-tls, key: tls.crt } }
      key: { secretKeyRef: { name: kafka-tls, key: tls.key } }
  sink: { uri: "http://sink/" }
`;

  it('reads each secret from <secrets dir>/<name>/<key>, else from the env variable <NAME>_<KEY>', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-secrets-'));
    const put = (name: string, key: string, value: string) => {
      mkdirSync(join(dir, name), { recursive: true });
      writeFileSync(join(dir, name, key), value);
    };
    put('kafka-tls', 'ca.crt', 'CA-PEM');
    put('kafka-tls', 'tls.crt', 'CERT-PEM');
    put('kafka-tls', 'tls.key', 'KEY-PEM');
    put('kafka-creds', 'password', 'from-file\n');
    const env = { KAFKA_CREDS_USER: 'alice', KAFKA_CREDS_PASSWORD: 'from-env', KAFKA_CREDS_SASL_MECHANISM: 'SCRAM-SHA-512' };
    const layer = parseKafkaSource(manifest, 'm.yaml', { secretsDir: dir, env });
    expect(layer.issues).toEqual([]);
    expect(layer.values).toMatchObject({
      saslMechanism: 'scram-sha-512',
      saslUsername: 'alice',
      saslPassword: 'from-file',
      tlsEnabled: true,
      tlsCaCert: 'CA-PEM',
      tlsCert: 'CERT-PEM',
      tlsKey: 'KEY-PEM',
    });
    rmSync(dir, { recursive: true, force: true });
  });

  it('names a secret it cannot find, with both places it looked', () => {
    const layer = parseKafkaSource(manifest, 'm.yaml', { secretsDir: '/nonexistent', env: {} });
    const paths = layer.issues.map((i) => i.path);
    expect(paths).toContain('spec.net.sasl.password.secretKeyRef');
    expect(paths).toContain('spec.net.tls.key.secretKeyRef');
    const password = layer.issues.find((i) => i.path === 'spec.net.sasl.password.secretKeyRef')!;
    expect(password.message).toContain('/nonexistent/kafka-creds/password');
    expect(password.message).toContain('KAFKA_CREDS_PASSWORD');
  });
});
