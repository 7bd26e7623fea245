import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { parseConfigArgs } from '../../src/config/flags.js';
import { parseKafkaSource } from '../../src/config/kafkasource.js';
import { redactSettings, resolveConfig } from '../../src/config/resolve.js';

const REQUIRED_ENV = { KAFKA_BROKERS: 'b:9092', KAFKA_TOPICS: 't', K_SINK: 'http://k-sink/' };

const resolve = (env: Record<string, string>, argv: string[] = []) =>
  resolveConfig({ env: { ...REQUIRED_ENV, ...env }, flags: parseConfigArgs(argv).layer }).settings;

/** The issues of a configuration that must be refused, as `path: message`. */
function refusal(env: Record<string, string>): string[] {
  try {
    resolve(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('accepted');
}

const IRIS = 'http://sklearn-iris-predictor.models.svc.cluster.local/v1/models/sklearn-iris:predict';

describe('SINKS', () => {
  it('reads JSON, with the short form name: uri', () => {
    const settings = resolve({
      SINKS: JSON.stringify({ 'sklearn-iris': IRIS, resnet: { uri: 'http://resnet/' } }),
      ROUTE: 'headers.model',
    });
    expect(settings.sinks).toEqual({ 'sklearn-iris': { uri: IRIS }, resnet: { uri: 'http://resnet/' } });
    expect(settings.route).toBe('headers.model');
  });

  it('reads YAML, each field parsed like the single-sink option it mirrors', () => {
    const settings = resolve({
      ROUTE: 'headers.model',
      SINKS: [
        'resnet:',
        '  uri: http://resnet/v1/models/resnet:predict',
        '  host: resnet.models.example.com',
        '  timeout: PT2M',
        '  retry: 4',
        '  backoffPolicy: LINEAR',
        '  backoffDelay: 0.5',
        '  deadLetterSink: http://dead/',
        'iris: {uri: "http://iris/", timeout: 30}',
      ].join('\n'),
    });
    expect(settings.sinks).toEqual({
      resnet: {
        uri: 'http://resnet/v1/models/resnet:predict',
        host: 'resnet.models.example.com',
        requestTimeoutMs: 120_000,
        retry: 4,
        backoffPolicy: 'linear',
        backoffDelayMs: 500,
        deadLetterSinkUri: 'http://dead/',
      },
      iris: { uri: 'http://iris/', requestTimeoutMs: 30_000 },
    });
  });

  it('is read from --sinks and --route too, the flags over the environment', () => {
    const settings = resolve({ SINKS: 'a: http://a/', ROUTE: '"a"' }, ['--sinks', 'b: http://b/', '--route', '"b"']);
    expect(settings.sinks).toEqual({ b: { uri: 'http://b/' } });
    expect(settings.route).toBe('"b"');
  });

  it.each([
    [
      'an unknown field',
      'a: {uri: "http://a/", tiemout: 3}',
      'env.SINKS: sink "a" has the field "tiemout"; the fields are uri, host, timeout, retry, backoffPolicy, backoffDelay, deadLetterSink',
    ],
    ['a sink without uri', 'a: {timeout: 3}', 'env.SINKS: sink "a" has no "uri"'],
    [
      'a field its option refuses',
      'a: {uri: "http://a/", timeout: 0}',
      'env.SINKS: sink "a" field "timeout" must be greater than 0, got "0"',
    ],
    ['a uri that is not http', 'a: ftp://a/', 'env.SINKS: sink "a" field "uri" must be an http or https URL, got "ftp://a/"'],
    ['a field of the wrong kind', 'a: {uri: [1]}', 'env.SINKS: sink "a" field "uri" must be text or a number, got an array'],
    [
      'a bad name',
      '"-a": http://a/',
      'env.SINKS: sink name "-a": 1 to 63 of A-Z a-z 0-9 . _ - starting with a letter or digit, and not "default" (K_SINK\'s own name)',
    ],
    [
      'the reserved name default',
      'default: http://a/',
      'env.SINKS: sink name "default": 1 to 63 of A-Z a-z 0-9 . _ - starting with a letter or digit, and not "default" (K_SINK\'s own name)',
    ],
    ['an empty map', '{}', 'env.SINKS: must name at least one sink'],
    [
      'a list',
      '[http://a/]',
      'env.SINKS: must be a JSON or YAML map of sinks such as {"resnet":{"uri":"http://resnet-predictor.models.svc.cluster.local/v1/models/resnet:predict"}}, got an array',
    ],
  ])('refuses %s, naming the sink and the field', (_, sinks, message) => {
    expect(refusal({ SINKS: sinks, ROUTE: 'headers.model' })).toEqual([message]);
  });
});

describe('ROUTE and FILTER', () => {
  it('ROUTE without SINKS and SINKS without ROUTE are refused', () => {
    expect(refusal({ ROUTE: 'headers.model' })).toEqual([
      'env.ROUTE: ROUTE chooses among named sinks: set SINKS (a map name → {uri, …}) too',
    ]);
    expect(refusal({ SINKS: 'a: http://a/' })).toEqual([
      'env.SINKS: SINKS are chosen per record by ROUTE: set ROUTE too (e.g. headers.model)',
    ]);
  });

  it('a bad SINKS alone is reported, not also as a ROUTE without sinks', () => {
    expect(refusal({ SINKS: '{}', ROUTE: '"a"' })).toEqual(['env.SINKS: must name at least one sink']);
  });

  it('a FILTER syntax error names the setting, the reason, the line and column and the expression', () => {
    expect(refusal({ FILTER: 'value.n % 2 ==' })).toEqual([
      'env.FILTER: is not a valid CEL filter: Unexpected token: EOF at line 1, column 15, in "value.n % 2 =="',
    ]);
    expect(refusal({ FILTER: 'has(value.n) &&\n  value.n > )' })).toEqual([
      'env.FILTER: is not a valid CEL filter: Unexpected token: RPAREN at line 2, column 13, in "has(value.n) &&\\n  value.n > )"',
    ]);
  });

  it('a FILTER that is not a bool or names an unknown variable is refused; a ROUTE that is not a string too', () => {
    expect(refusal({ FILTER: 'offset' })).toEqual([
      'env.FILTER: is not a valid CEL filter: a filter must return a bool, this one returns int at line 1, column 1, in "offset"',
    ]);
    expect(refusal({ FILTER: 'body.n == 1' })).toEqual([
      'env.FILTER: is not a valid CEL filter: Unknown variable: body at line 1, column 1, in "body.n == 1"',
    ]);
    expect(refusal({ SINKS: 'a: http://a/', ROUTE: 'partition' })).toEqual([
      'env.ROUTE: is not a valid CEL route: a route must return a string, this one returns int at line 1, column 1, in "partition"',
    ]);
  });

  it('a valid FILTER is kept as written, trimmed', () => {
    expect(resolve({ FILTER: '  has(value.model)\n' }).filter).toBe('has(value.model)');
  });
});

describe('the kafka-dispatch/filter, /route and /sinks annotations', () => {
  const manifest = (annotations: Record<string, string>) => `apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata:
  name: models
  annotations:
${Object.entries(annotations)
  .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
  .join('\n')}
spec:
  bootstrapServers: [b:9092]
  topics: [t]
  sink:
    uri: http://k-sink/
`;

  it('are read like FILTER, ROUTE and SINKS', () => {
    const layer = parseKafkaSource(
      manifest({
        'kafka-dispatch/filter': '"model" in headers',
        'kafka-dispatch/route': 'headers.model',
        'kafka-dispatch/sinks': `sklearn-iris: ${IRIS}\nresnet: {uri: "http://resnet/", timeout: PT2M}`,
      }),
    );
    expect(layer.issues).toEqual([]);
    expect(layer.values).toMatchObject({
      filter: '"model" in headers',
      route: 'headers.model',
      sinks: { 'sklearn-iris': { uri: IRIS }, resnet: { uri: 'http://resnet/', requestTimeoutMs: 120_000 } },
    });
    expect(layer.origins.sinks).toBe('metadata.annotations["kafka-dispatch/sinks"]');
  });

  it('an error in one names the annotation', () => {
    const layer = parseKafkaSource(
      manifest({ 'kafka-dispatch/route': 'headers.', 'kafka-dispatch/sinks': 'a: {uri: http://a/, retry: -1}' }),
    );
    expect(layer.issues.map((i) => i.path)).toEqual([
      'metadata.annotations["kafka-dispatch/route"]',
      'metadata.annotations["kafka-dispatch/sinks"]',
    ]);
    expect(layer.issues[0]!.message).toMatch(/^is not a valid CEL route: .* at line 1, column 9, in "headers\."$/);
    expect(layer.issues[1]!.message).toMatch(/^sink "a" field "retry" /);
  });
});

describe('validate', () => {
  it('masks the credentials in the named sinks URIs as in K_SINK', () => {
    const settings = resolve({
      K_SINK: 'http://user:pw@k-sink/?token=abc',
      ROUTE: '"a"',
      SINKS: 'a: {uri: "http://user:secret@a/?api_key=xyz", deadLetterSink: "http://u:p2@dead/"}\nb: http://b/',
    });
    const shown = redactSettings(settings);
    expect(shown.sinkUri).toBe('http://REDACTED:REDACTED@k-sink/?token=REDACTED');
    expect(shown.sinks).toEqual({
      a: { uri: 'http://REDACTED:REDACTED@a/?api_key=REDACTED', deadLetterSinkUri: 'http://REDACTED:REDACTED@dead/' },
      b: { uri: 'http://b/' },
    });
    // The settings themselves keep the credentials: the senders need them.
    expect(settings.sinks!.a!.uri).toBe('http://user:secret@a/?api_key=xyz');
  });
});
