import { describe, expect, it } from 'vitest';
import {
  ANNOTATABLE,
  DEFAULTS,
  OPTIONS,
  REQUIRED_SETTINGS,
  SCHEMA,
  SECRET_SETTINGS,
  SETTING_KEYS,
  formatValue,
  optionFor,
} from '../../src/config/schema.js';

describe('the configuration schema', () => {
  it('names every env variable and flag once', () => {
    const envs = OPTIONS.flatMap((o) => o.env);
    const flags = OPTIONS.map((o) => o.flag);
    expect(new Set(envs).size).toBe(envs.length);
    expect(new Set(flags).size).toBe(flags.length);
    expect(flags).not.toContain('kafkasource');
    expect(flags).not.toContain('help');
  });

  it('gives every setting at least one option, and every option a setting', () => {
    for (const key of SETTING_KEYS)
      expect(
        OPTIONS.some((o) => o.key === key),
        key,
      ).toBe(true);
    expect(new Set(OPTIONS.map((o) => o.key))).toEqual(new Set(SETTING_KEYS));
  });

  it("has these defaults (Knative's where Knative has one)", () => {
    expect(DEFAULTS).toMatchObject({
      requestTimeoutMs: 600_000,
      retry: 10,
      backoffPolicy: 'exponential',
      backoffDelayMs: 300,
      commitIntervalMs: 5000,
      initialOffset: 'latest',
      ordering: 'ordered',
      maxInFlight: 256,
      consumers: 1,
      maxInFlightPerPartition: 50,
      fetchMaxBytesPerPartition: 256 * 1024,
      fetchMaxWaitMs: 100,
      ceExtensions: {},
      tlsEnabled: false,
      secretsDir: '/var/run/secrets/kafka-dispatch',
    });
    expect(REQUIRED_SETTINGS).toEqual(['brokers', 'topics', 'sinkUri']);
    for (const key of REQUIRED_SETTINGS) expect(DEFAULTS).not.toHaveProperty(key);
    // Unset by default: present, undefined.
    expect(Object.keys(DEFAULTS)).toContain('sinkHost');
    expect(DEFAULTS.sinkHost).toBeUndefined();
    expect(Object.keys(DEFAULTS)).toHaveLength(SETTING_KEYS.length - REQUIRED_SETTINGS.length);
  });

  it('every default passes its own value schema', () => {
    for (const [key, value] of Object.entries(DEFAULTS)) {
      expect(SCHEMA[key as keyof typeof SCHEMA].schema.safeParse(value).success, key).toBe(true);
    }
  });

  it('marks the credentials secret', () => {
    expect([...SECRET_SETTINGS].sort()).toEqual(['saslPassword', 'sinkClientKey', 'tlsKey']);
  });

  it('makes the options KafkaSource lacks annotatable, as kafka-dispatch/<flag>', () => {
    expect(ANNOTATABLE.map((o) => o.flag)).toEqual([
      'max-in-flight',
      'concurrency-limit',
      'min-in-flight',
      'backlog-drain',
      'backlog-drain-share',
      'max-in-flight-per-partition',
      'format',
      'null-keys',
      'dead-letter-topic',
      'failure-policy',
      'max-record-age',
      'max-retry-after',
      'retry-jitter',
      'max-backoff',
      'reply-topic',
      'batch-max-records',
      'batch-max-bytes',
      'batch-max-wait',
      'batch-format',
      'batch-item-error-field',
      'batch-oip-input',
      'batch-oip-datatype',
      'rate-limit',
      'max-buffered-records',
      'fetch-max-bytes-per-partition',
      'fetch-max-wait',
      'filter',
      'sinks',
      'route',
    ]);
    for (const option of ANNOTATABLE) expect(option.kafkaSource).toContain(`annotation kafka-dispatch/${option.flag}`);
  });

  it('two options may feed one setting; the first is the main one', () => {
    expect(OPTIONS.filter((o) => o.key === 'backoffDelayMs').map((o) => o.flag)).toEqual(['backoff-delay', 'retry-interval']);
    expect(OPTIONS.filter((o) => o.key === 'sinkCaCerts').map((o) => o.flag)).toEqual(['sink-ca-certs', 'sink-ca-file']);
    expect(optionFor('backoffDelayMs').flag).toBe('backoff-delay');
    expect(optionFor('backoffDelayMs', 'retry-interval').implies).toEqual({ backoffPolicy: 'fixed' });
  });

  it.each([
    ['requestTimeoutMs', 600_000, '600 s'],
    ['backoffDelayMs', 300, '0.3 s'],
    ['backoffDelayMs', 1, '0.001 s'],
    ['maxRecordAgeMs', 0, '0 (no limit)'],
    ['metricsPort', 0, '0 (off)'],
    ['retryJitter', 0, '0'],
    ['fetchMaxBytesPerPartition', 262_144, '262144 (256 KiB)'],
    ['fetchMaxBytesPerPartition', 3 * 1024 * 1024, '3145728 (3 MiB)'],
    ['brokers', ['a:1', 'b:2'], 'a:1,b:2'],
    ['ceExtensions', { a: 'b' }, '{"a":"b"}'],
    ['tlsEnabled', true, 'true'],
  ] as const)('formatValue(%s, %j) = %s', (key, value, text) => {
    expect(formatValue(key, value)).toBe(text);
  });

  describe('text parsers are made from the value schema', () => {
    it.each([
      ['max-in-flight', '16', 16],
      ['max-in-flight', ' 16 ', 16],
      ['request-timeout', '0.5', 500],
      ['request-timeout', 'PT1M', 60_000],
      ['ordering', 'KEY', 'key'],
      ['kafka-tls', 'yes', true],
      ['sink', 'http://svc', 'http://svc/'],
      ['brokers', 'a:1, b:2,', ['a:1', 'b:2']],
      ['ce-overrides', '{"extensions":{"team":1}}', { team: '1' }],
    ])('--%s %j → %j', (flag, text, value) => {
      expect(OPTIONS.find((o) => o.flag === flag)!.parse(text)).toEqual({ value });
    });

    it.each([
      ['max-in-flight', '0', 'must be an integer from 1 to 100000, got "0"'],
      ['max-in-flight', 'many', 'must be an integer from 1 to 100000, in decimal digits, got "many"'],
      ['consumers', '0', 'must be an integer from 1 to 64, got "0"'],
      ['consumers', '65', 'must be an integer from 1 to 64, got "65"'],
      ['request-timeout', '0', 'must be greater than 0, got "0"'],
      ['request-timeout', 'soon', 'must be seconds (e.g. 2 or 0.5) or an ISO-8601 duration (e.g. PT0.5S), got "soon"'],
      ['ordering', 'chaos', 'must be one of ordered, unordered, key, got "chaos"'],
      ['sink', 'ftp://x', 'must be an http or https URL, got "ftp://x"'],
      ['sink', 'not a url', 'must be an absolute http(s) URL, got "not a url"'],
      ['retry-jitter', '2', 'must be a number from 0 to 1, got "2"'],
      ['dead-letter-topic', 'a/b', 'must be a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -, and not "." or ".."), got "a/b"'],
      ['ce-overrides', '{"extensions":{"Team":"x"}}', 'extension name "Team" must be 1-20 lower-case letters or digits (CloudEvents)'],
      ['sink-ca-certs', 'not pem', 'must hold PEM certificates (-----BEGIN CERTIFICATE-----)'],
      ['kafka-tls-ca-file', '/nonexistent/ca.pem', 'cannot read file "/nonexistent/ca.pem": ENOENT'],
    ])('--%s %j → %s', (flag, text, error) => {
      expect(OPTIONS.find((o) => o.flag === flag)!.parse(text)).toEqual({ error });
    });
  });
});
