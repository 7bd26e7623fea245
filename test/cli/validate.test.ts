import { orderedCeiling } from '../../src/service/scaling-advice.js';
import { describe, expect, it } from 'vitest';
import { redactSettings, resolveConfig } from '../../src/config/resolve.js';
import { SETTING_KEYS } from '../../src/config/schema.js';
import { formatSettings } from '../../src/cli/validate.js';
import { runCli } from '../helpers/cli.js';

const REQUIRED_ENV = {
  KAFKA_BROKERS: 'b1:9092,b2:9092',
  KAFKA_TOPICS: 't',
  K_SINK: 'http://user:hunter2@sink.example/predict?token=tok123&query=music',
};
const PASSWORD = 'S3cr3t-pa55';

function output(env: Record<string, string>): string {
  const { settings, origins } = resolveConfig({ env });
  return formatSettings(redactSettings(settings), origins);
}
const rowOf = (text: string, name: string) => text.split('\n').find((l) => l.startsWith(`  ${name} `));

describe('validate output', () => {
  const text = output({
    ...REQUIRED_ENV,
    REQUEST_TIMEOUT: 'PT10M',
    RETRY_INTERVAL: '2',
    K_CE_OVERRIDES: '{"extensions":{"team":"ai","tier":2}}',
    KAFKA_SASL_MECHANISM: 'plain',
    KAFKA_SASL_USERNAME: 'dispatcher',
    KAFKA_SASL_PASSWORD: PASSWORD,
  });
  const rows = text.split('\n').slice(1).filter(Boolean);

  it('has one row per setting, required ones first', () => {
    expect(text.split('\n')[0]).toBe('configuration is valid; resolved settings (source in brackets):');
    expect(rows).toHaveLength(SETTING_KEYS.length);
    expect(rows.slice(0, 3).map((r) => r.trim().split(' ')[0])).toEqual(['KAFKA_BROKERS', 'KAFKA_TOPICS', 'K_SINK']);
  });

  it('names each setting by its environment variable and flag, never by its internal name', () => {
    expect(rowOf(text, 'REQUEST_TIMEOUT (--request-timeout)')).toBeDefined();
    expect(rowOf(text, 'K_SINK / SINK_URI (--sink)')).toBeDefined();
    for (const internal of ['requestTimeoutMs', 'ceExtensions', 'saslPassword', 'backoffDelayMs', 'sinkUri'])
      expect(text).not.toContain(internal);
  });

  it('prints durations with their unit, objects as JSON, lists comma-separated, each with its source', () => {
    expect(rowOf(text, 'REQUEST_TIMEOUT (--request-timeout)')).toMatch(/ 600 s {2}\[env\.REQUEST_TIMEOUT\]$/);
    expect(rowOf(text, 'COMMIT_INTERVAL (--commit-interval)')).toMatch(/ 5 s {2}\[default\]$/);
    expect(rowOf(text, 'FETCH_MAX_WAIT (--fetch-max-wait)')).toMatch(/ 0\.1 s {2}\[default\]$/);
    expect(rowOf(text, 'MAX_RECORD_AGE (--max-record-age)')).toMatch(/ 0 \(no limit\) {2}\[default\]$/);
    expect(rowOf(text, 'K_CE_OVERRIDES (--ce-overrides)')).toMatch(/ \{"team":"ai","tier":"2"\} {2}\[env\.K_CE_OVERRIDES\]$/);
    expect(rowOf(text, 'KAFKA_BROKERS (--brokers)')).toMatch(/ b1:9092,b2:9092 {2}\[env\.KAFKA_BROKERS\]$/);
    expect(rowOf(text, 'MAX_IN_FLIGHT (--max-in-flight)')).toMatch(/ 256 {2}\[default\]$/);
    expect(rowOf(text, 'DEAD_LETTER_SINK (--dead-letter-sink)')).toMatch(/ \(unset\) {2}\[default\]$/);
    expect(rowOf(text, 'KAFKA_TLS_CA_FILE (--kafka-tls-ca-file)')).toMatch(/ \(unset: system CAs\) {2}\[default\]$/);
    expect(text).not.toContain('[object Object]');
    expect(text).not.toMatch(/ 600000 /);
  });

  it('names the option a value came through when two feed one setting', () => {
    expect(rowOf(text, 'RETRY_INTERVAL (--retry-interval)')).toMatch(/ 2 s {2}\[env\.RETRY_INTERVAL\]$/);
    expect(rowOf(text, 'BACKOFF_POLICY (--backoff-policy)')).toMatch(/ fixed {2}\[env\.RETRY_INTERVAL\]$/);
    expect(rowOf(output(REQUIRED_ENV), 'BACKOFF_DELAY (--backoff-delay)')).toMatch(/ 0\.3 s {2}\[default\]$/);
  });

  it('keeps secrets redacted', () => {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('tok123');
    expect(rowOf(text, 'KAFKA_SASL_PASSWORD (--sasl-password)')).toMatch(/ \[redacted\] {2}\[env\.KAFKA_SASL_PASSWORD\]$/);
    expect(rowOf(text, 'K_SINK / SINK_URI (--sink)')).toContain('http://REDACTED:REDACTED@sink.example/predict?token=REDACTED&query=music');
  });
});

describe('kafka-dispatch validate', () => {
  it('prints the resolved settings by their user-facing names, exit 0', async () => {
    const { code, stdout, stderr } = await runCli(['validate', '--request-timeout', '0.3'], {
      ...REQUIRED_ENV,
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: PASSWORD,
    });
    // The default ordering, said out loud: one request per partition caps a Knative sink's pods.
    expect(stderr).toBe(`note: ${orderedCeiling()}\n`);
    expect(code).toBe(0);
    expect(rowOf(stdout, 'REQUEST_TIMEOUT (--request-timeout)')).toMatch(/ 0\.3 s {2}\[--request-timeout\]$/);
    expect(stdout).toContain('KAFKA_SASL_PASSWORD');
    expect(stdout).not.toContain(PASSWORD);
  });

  it('--json keeps its machine-readable shape: settings by internal name in milliseconds, and their origins', async () => {
    const { code, stdout } = await runCli(['validate', '--json', '--ce-overrides', '{"extensions":{"team":"ai"}}'], {
      ...REQUIRED_ENV,
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: PASSWORD,
    });
    expect(code).toBe(0);
    const { settings, origins } = JSON.parse(stdout) as { settings: Record<string, unknown>; origins: Record<string, string> };
    // Unset settings are left out, as JSON has no undefined.
    for (const key of Object.keys(settings)) expect(SETTING_KEYS).toContain(key);
    expect(Object.keys(origins).sort()).toEqual([...SETTING_KEYS].sort());
    expect(settings).toMatchObject({
      brokers: ['b1:9092', 'b2:9092'],
      requestTimeoutMs: 600_000,
      backoffDelayMs: 300,
      ceExtensions: { team: 'ai' },
      saslPassword: '[redacted]',
      sinkUri: 'http://REDACTED:REDACTED@sink.example/predict?token=REDACTED&query=music',
    });
    expect(origins).toMatchObject({ brokers: 'env.KAFKA_BROKERS', requestTimeoutMs: 'default', ceExtensions: '--ce-overrides' });
    expect(stdout).not.toContain(PASSWORD);
  });
});
