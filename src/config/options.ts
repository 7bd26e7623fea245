import { readFileSync } from 'node:fs';
import { parseIsoDuration, parseSeconds } from './duration.js';
import type { PartialSettings, SettingKey, Settings } from './settings.js';

/**
 * Every option in one table: its environment variable, CLI flag, KafkaSource equivalent and default.
 * The env and flag loaders, `validate` and the README's reference table all come from here.
 */
export interface OptionSpec<K extends SettingKey = SettingKey> {
  key: K;
  env: string[];
  flag: string;
  kafkaSource: string;
  /** As a user would write it, for the reference table; `undefined` = required or derived. */
  defaultText: string;
  description: string;
  parse: (text: string) => { value: Settings[K] } | { error: string };
  /** Other settings this option sets along with its own (ASK's retry interval means a fixed backoff). */
  implies?: PartialSettings;
}

const list = (text: string) => {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  return items.length > 0 ? { value: items } : { error: 'must name at least one item (comma-separated)' };
};
const nonEmpty = (text: string) => (text.trim() ? { value: text.trim() } : { error: 'must not be empty' });
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) => (text: string) => {
  const n = Number(text.trim());
  return text.trim() !== '' && Number.isInteger(n) && n >= min && n <= max
    ? { value: n }
    : { error: `must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}, got "${text}"` };
};
const oneOf = <T extends string>(...allowed: T[]) => (text: string) => {
  const v = text.trim().toLowerCase() as T;
  return allowed.includes(v) ? { value: v } : { error: `must be one of ${allowed.join(', ')}, got "${text}"` };
};
/** Seconds (`2`, `0.5`) or ISO-8601 (`PT2S`). */
export const duration = (text: string): { value: number } | { error: string } => {
  const ms = parseSeconds(text) ?? parseIsoDuration(text);
  return ms === undefined
    ? { error: `must be seconds (e.g. 2 or 0.5) or an ISO-8601 duration (e.g. PT0.5S), got "${text}"` }
    : { value: ms };
};
const positiveDuration = (text: string) => {
  const r = duration(text);
  return 'value' in r && r.value <= 0 ? { error: `must be greater than 0, got "${text}"` } : r;
};
const sinkUri = (text: string) => {
  try {
    const url = new URL(text.trim());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: `must be an http or https URL, got "${text}"` };
    return { value: url.toString() };
  } catch {
    return { error: `must be an absolute http(s) URL, got "${text}"` };
  }
};

const bool = (text: string) => {
  const v = text.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return { value: true };
  if (['false', '0', 'no', 'off'].includes(v)) return { value: false };
  return { error: `must be true or false, got "${text}"` };
};
const ratio = (text: string) => {
  const n = Number(text.trim());
  return text.trim() !== '' && Number.isFinite(n) && n >= 0 && n <= 1 ? { value: n } : { error: `must be a number from 0 to 1, got "${text}"` };
};
const nonNegative = (text: string) => {
  const n = Number(text.trim());
  return text.trim() !== '' && Number.isFinite(n) && n >= 0 ? { value: n } : { error: `must be a number ≥ 0, got "${text}"` };
};
const topicName = (text: string) =>
  /^[a-zA-Z0-9._-]{1,249}$/.test(text.trim()) ? { value: text.trim() } : { error: `must be a Kafka topic name ([a-zA-Z0-9._-], at most 249), got "${text}"` };
/** A file whose contents are the value (PEM certificates and keys). */
const fileContents = (text: string) => {
  try {
    return { value: readFileSync(text.trim(), 'utf8') };
  } catch (error) {
    return { error: `cannot read file "${text}": ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  }
};
const pem = (text: string) => (text.includes('-----BEGIN') ? { value: text } : { error: 'must hold PEM certificates (-----BEGIN CERTIFICATE-----)' });
/** K_CE_OVERRIDES: `{"extensions":{"name":"value"}}` as a SinkBinding injects it. */
export const ceOverrides = (text: string): { value: Record<string, string> } | { error: string } => {
  if (!text.trim()) return { value: {} };
  try {
    const parsed = JSON.parse(text) as { extensions?: unknown };
    const ext = parsed?.extensions ?? {};
    if (typeof ext !== 'object' || ext === null || Array.isArray(ext)) return { error: 'extensions must be an object of strings' };
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(ext)) {
      if (!/^[a-z0-9]{1,20}$/.test(name)) return { error: `extension name "${name}" must be 1-20 lower-case letters or digits (CloudEvents)` };
      out[name] = String(value);
    }
    return { value: out };
  } catch {
    return { error: 'must be JSON such as {"extensions":{"name":"value"}}' };
  }
};

function option<K extends SettingKey>(spec: OptionSpec<K>): OptionSpec<K> {
  return spec;
}

export const OPTIONS = [
  option({ key: 'brokers', env: ['KAFKA_BROKERS'], flag: 'brokers', kafkaSource: 'spec.bootstrapServers', defaultText: '(required)', description: 'Bootstrap servers, comma-separated host:port.', parse: list }),
  option({ key: 'topics', env: ['KAFKA_TOPICS'], flag: 'topics', kafkaSource: 'spec.topics', defaultText: '(required)', description: 'Topics to consume, comma-separated.', parse: list }),
  option({ key: 'groupId', env: ['KAFKA_GROUP'], flag: 'group', kafkaSource: 'spec.consumerGroup', defaultText: 'kafka-dispatch-<namespace>-<name> from a manifest, else kafka-dispatch', description: 'Consumer group id.', parse: nonEmpty }),
  option({ key: 'clientId', env: ['KAFKA_CLIENT_ID'], flag: 'client-id', kafkaSource: '-', defaultText: 'kafka-dispatch', description: 'Kafka client id (shows in broker logs and quotas).', parse: nonEmpty }),
  option({ key: 'initialOffset', env: ['KAFKA_INITIAL_OFFSET'], flag: 'initial-offset', kafkaSource: 'spec.initialOffset', defaultText: 'latest', description: 'Where a group with no committed offset starts: earliest or latest.', parse: oneOf('earliest', 'latest') }),
  option({ key: 'sinkUri', env: ['K_SINK', 'SINK_URI'], flag: 'sink', kafkaSource: 'spec.sink.uri', defaultText: '(required)', description: 'Where records are POSTed. K_SINK is what a Knative SinkBinding injects; it wins over SINK_URI.', parse: sinkUri }),
  option({ key: 'sinkHost', env: ['SINK_HOST_HEADER'], flag: 'host-header', kafkaSource: 'metadata.annotations["k8s.aliyun.com/domain"]', defaultText: "the sink URI's host", description: "Host header sent to the sink URI's address; how a Knative gateway picks the service.", parse: nonEmpty }),
  option({ key: 'requestTimeoutMs', env: ['REQUEST_TIMEOUT'], flag: 'request-timeout', kafkaSource: 'spec.delivery.timeout, annotation k8s.aliyun.com/req-timeout', defaultText: '600 s (Knative)', description: 'Timeout of one attempt, seconds (decimals allowed) or ISO-8601.', parse: positiveDuration }),
  option({ key: 'retry', env: ['RETRY_COUNT'], flag: 'retry-count', kafkaSource: 'spec.delivery.retry, annotation k8s.aliyun.com/retry-count', defaultText: '10 (Knative, delivery omitted)', description: 'Retries after the first attempt.', parse: integer(0, 1_000_000) }),
  option({ key: 'backoffDelayMs', env: ['RETRY_INTERVAL'], flag: 'retry-interval', kafkaSource: 'annotation k8s.aliyun.com/retry-interval', defaultText: '-', description: 'ASK style: a fixed wait between attempts, seconds (decimals allowed). Sets backoff-policy to fixed.', parse: duration, implies: { backoffPolicy: 'fixed' } }),
  option({ key: 'backoffPolicy', env: ['BACKOFF_POLICY'], flag: 'backoff-policy', kafkaSource: 'spec.delivery.backoffPolicy', defaultText: 'exponential', description: 'exponential (delay × 2^n), linear (delay × n) or fixed (delay); n = 1 for the first retry.', parse: oneOf('exponential', 'linear', 'fixed') }),
  option({ key: 'backoffDelayMs', env: ['BACKOFF_DELAY'], flag: 'backoff-delay', kafkaSource: 'spec.delivery.backoffDelay', defaultText: '0.3 s (Knative)', description: 'Base delay of the backoff policy, seconds or ISO-8601.', parse: duration }),
  option({ key: 'ordering', env: ['ORDERING'], flag: 'ordering', kafkaSource: 'spec.ordering', defaultText: 'ordered', description: 'ordered: one request in flight per partition; unordered: up to max-in-flight-per-partition; key: in order per key, keys in parallel.', parse: oneOf('ordered', 'unordered', 'key') }),
  option({ key: 'maxInFlight', env: ['MAX_IN_FLIGHT'], flag: 'max-in-flight', kafkaSource: 'annotation kafka-dispatch/max-in-flight', defaultText: '256', description: 'Requests in flight across all partitions; fetching pauses while reached.', parse: integer(1, 100_000) }),
  option({ key: 'maxInFlightPerPartition', env: ['MAX_IN_FLIGHT_PER_PARTITION'], flag: 'max-in-flight-per-partition', kafkaSource: 'annotation kafka-dispatch/max-in-flight-per-partition', defaultText: '50', description: 'Requests in flight within one partition (unordered and key modes).', parse: integer(1, 100_000) }),
  option({ key: 'commitIntervalMs', env: ['COMMIT_INTERVAL'], flag: 'commit-interval', kafkaSource: '-', defaultText: '5 s (Knative)', description: 'How often finished offsets are committed, seconds or ISO-8601.', parse: positiveDuration }),
  option({ key: 'sessionTimeoutMs', env: ['KAFKA_SESSION_TIMEOUT'], flag: 'session-timeout', kafkaSource: '-', defaultText: '30 s', description: 'Consumer group session timeout: how soon a crashed replica\'s partitions move to another (the broker allows 6 s to 300 s by default).', parse: positiveDuration }),
  option({ key: 'shutdownGraceMs', env: ['SHUTDOWN_GRACE'], flag: 'shutdown-grace', kafkaSource: '-', defaultText: '30 s', description: 'On SIGTERM, how long in-flight requests may take to finish before exit.', parse: duration }),
  option({ key: 'metricsPort', env: ['METRICS_PORT'], flag: 'metrics-port', kafkaSource: '-', defaultText: '9464', description: 'Port of /metrics, /healthz and /readyz; 0 turns the server off.', parse: integer(0, 65535) }),
  option({ key: 'lagIntervalMs', env: ['LAG_INTERVAL'], flag: 'lag-interval', kafkaSource: '-', defaultText: '5 s', description: 'How often lag is read for every partition of the group\'s topics (also the brokers\' health check for /readyz).', parse: positiveDuration }),
  option({ key: 'format', env: ['FORMAT'], flag: 'format', kafkaSource: 'annotation kafka-dispatch/format', defaultText: 'cloudevents', description: 'cloudevents: binary mode with Knative\'s attributes; raw: the value alone as the body.', parse: oneOf('cloudevents', 'raw') }),
  option({ key: 'sourceNamespace', env: ['SOURCE_NAMESPACE'], flag: 'source-namespace', kafkaSource: 'metadata.namespace', defaultText: 'default', description: 'Namespace in ce-source.', parse: nonEmpty }),
  option({ key: 'sourceName', env: ['SOURCE_NAME'], flag: 'source-name', kafkaSource: 'metadata.name', defaultText: 'kafka-dispatch', description: 'Name in ce-source.', parse: nonEmpty }),
  option({ key: 'keyType', env: ['KEY_TYPE'], flag: 'key-type', kafkaSource: 'label kafkasources.sources.knative.dev/key-type', defaultText: 'string', description: 'How ce-key is decoded: string, int, float or byte-array.', parse: oneOf('string', 'int', 'float', 'byte-array') }),
  option({ key: 'ceExtensions', env: ['K_CE_OVERRIDES'], flag: 'ce-overrides', kafkaSource: 'spec.ceOverrides.extensions', defaultText: '{}', description: 'JSON {"extensions":{...}}: extra CloudEvent attributes on every event.', parse: ceOverrides }),
  option({ key: 'nullKeys', env: ['NULL_KEYS'], flag: 'null-keys', kafkaSource: 'annotation kafka-dispatch/null-keys', defaultText: 'partition', description: 'key mode: records without a key share one lane per partition (partition) or have no order (unordered).', parse: oneOf('partition', 'unordered') }),
  option({ key: 'deadLetterSinkUri', env: ['DEAD_LETTER_SINK'], flag: 'dead-letter-sink', kafkaSource: 'spec.delivery.deadLetterSink.uri', defaultText: 'none', description: 'Where records go when the sink refuses them or retries run out.', parse: sinkUri }),
  option({ key: 'deadLetterTopic', env: ['DEAD_LETTER_TOPIC'], flag: 'dead-letter-topic', kafkaSource: 'annotation kafka-dispatch/dead-letter-topic', defaultText: 'none', description: 'Kafka topic for failed records (the original record plus kd-error-* headers); tried when there is no dead-letter sink or it failed.', parse: topicName }),
  option({ key: 'failurePolicy', env: ['FAILURE_POLICY'], flag: 'failure-policy', kafkaSource: 'annotation kafka-dispatch/failure-policy', defaultText: 'skip', description: 'No dead letter, or it failed: skip (as Knative: logged, counted, committed past) or block (retry until someone takes it).', parse: oneOf('skip', 'block') }),
  option({ key: 'maxRecordAgeMs', env: ['MAX_RECORD_AGE'], flag: 'max-record-age', kafkaSource: 'annotation kafka-dispatch/max-record-age', defaultText: '0 (no limit)', description: 'A record older than this is dead-lettered instead of retried, seconds or ISO-8601.', parse: duration }),
  option({ key: 'maxRetryAfterMs', env: ['MAX_RETRY_AFTER'], flag: 'max-retry-after', kafkaSource: 'annotation kafka-dispatch/max-retry-after', defaultText: '60 s', description: 'Longest wait a Retry-After header may ask for.', parse: duration }),
  option({ key: 'retryJitter', env: ['RETRY_JITTER'], flag: 'retry-jitter', kafkaSource: 'annotation kafka-dispatch/retry-jitter', defaultText: '0', description: 'Randomise each backoff delay by ± this fraction (0 to 1).', parse: ratio }),
  option({ key: 'maxBackoffMs', env: ['MAX_BACKOFF'], flag: 'max-backoff', kafkaSource: 'annotation kafka-dispatch/max-backoff', defaultText: '60 s', description: 'Longest wait between attempts under failure-policy block.', parse: positiveDuration }),
  option({ key: 'replyTopic', env: ['REPLY_TOPIC'], flag: 'reply-topic', kafkaSource: 'annotation kafka-dispatch/reply-topic', defaultText: 'none', description: 'Produce each 2xx response body (e.g. the inference result) to this topic, keyed like the input.', parse: topicName }),
  option({ key: 'rateLimit', env: ['RATE_LIMIT'], flag: 'rate-limit', kafkaSource: 'annotation kafka-dispatch/rate-limit', defaultText: '0 (no limit)', description: 'Requests started per second across the process.', parse: nonNegative }),
  option({ key: 'maxBufferedRecords', env: ['MAX_BUFFERED_RECORDS'], flag: 'max-buffered-records', kafkaSource: 'annotation kafka-dispatch/max-buffered-records', defaultText: '1024', description: 'Records fetched ahead of dispatch; past it fetching pauses (and resumes below half of it), so memory stays bounded whatever the lag.', parse: integer(1, 10_000_000) }),
  option({ key: 'fetchMaxBytesPerPartition', env: ['FETCH_MAX_BYTES_PER_PARTITION'], flag: 'fetch-max-bytes-per-partition', kafkaSource: 'annotation kafka-dispatch/fetch-max-bytes-per-partition', defaultText: '262144 (256 KiB)', description: 'Bytes one fetch brings per partition. Memory stays below max-buffered-records plus partitions × this, whatever the lag.', parse: integer(1024, 64 * 1024 * 1024) }),
  option({ key: 'fetchMaxWaitMs', env: ['FETCH_MAX_WAIT'], flag: 'fetch-max-wait', kafkaSource: 'annotation kafka-dispatch/fetch-max-wait', defaultText: '0.1 s', description: 'Longest a fetch waits for new records. Short, so a resumed partition or a new record is not held up behind an idle long poll.', parse: positiveDuration }),
  option({ key: 'saslMechanism', env: ['KAFKA_SASL_MECHANISM'], flag: 'sasl-mechanism', kafkaSource: 'spec.net.sasl.type', defaultText: 'none', description: 'plain, scram-sha-256 or scram-sha-512.', parse: oneOf('plain', 'scram-sha-256', 'scram-sha-512') }),
  option({ key: 'saslUsername', env: ['KAFKA_SASL_USERNAME'], flag: 'sasl-username', kafkaSource: 'spec.net.sasl.user', defaultText: 'none', description: 'SASL user.', parse: nonEmpty }),
  option({ key: 'saslPassword', env: ['KAFKA_SASL_PASSWORD'], flag: 'sasl-password', kafkaSource: 'spec.net.sasl.password', defaultText: 'none', description: 'SASL password (never printed or logged).', parse: nonEmpty }),
  option({ key: 'tlsEnabled', env: ['KAFKA_TLS'], flag: 'kafka-tls', kafkaSource: 'spec.net.tls.enable', defaultText: 'false', description: 'TLS to the brokers.', parse: bool }),
  option({ key: 'tlsCaCert', env: ['KAFKA_TLS_CA_FILE'], flag: 'kafka-tls-ca-file', kafkaSource: 'spec.net.tls.caCert', defaultText: 'system CAs', description: 'CA certificates for the brokers (PEM file).', parse: fileContents }),
  option({ key: 'tlsCert', env: ['KAFKA_TLS_CERT_FILE'], flag: 'kafka-tls-cert-file', kafkaSource: 'spec.net.tls.cert', defaultText: 'none', description: 'Client certificate for the brokers (PEM file).', parse: fileContents }),
  option({ key: 'tlsKey', env: ['KAFKA_TLS_KEY_FILE'], flag: 'kafka-tls-key-file', kafkaSource: 'spec.net.tls.key', defaultText: 'none', description: 'Client key for the brokers (PEM file).', parse: fileContents }),
  option({ key: 'sinkCaCerts', env: ['K_CA_CERTS'], flag: 'sink-ca-certs', kafkaSource: 'spec.sink.CACerts', defaultText: 'system CAs', description: 'PEM of the CAs trusted for an https sink (what a SinkBinding injects).', parse: pem }),
  option({ key: 'sinkCaCerts', env: ['SINK_CA_FILE'], flag: 'sink-ca-file', kafkaSource: '-', defaultText: 'system CAs', description: 'The same, from a file.', parse: fileContents }),
  option({ key: 'sinkClientCert', env: ['SINK_CLIENT_CERT_FILE'], flag: 'sink-client-cert-file', kafkaSource: '-', defaultText: 'none', description: 'Client certificate for the sink (PEM file).', parse: fileContents }),
  option({ key: 'sinkClientKey', env: ['SINK_CLIENT_KEY_FILE'], flag: 'sink-client-key-file', kafkaSource: '-', defaultText: 'none', description: 'Client key for the sink (PEM file).', parse: fileContents }),
  option({ key: 'sinkTokenFile', env: ['SINK_TOKEN_FILE'], flag: 'sink-token-file', kafkaSource: 'spec.sink.audience (token mounted by the platform)', defaultText: 'none', description: 'File holding a bearer token for the sink; re-read when it changes.', parse: nonEmpty }),
  option({ key: 'secretsDir', env: ['SECRETS_DIR'], flag: 'secrets-dir', kafkaSource: '-', defaultText: '/var/run/secrets/kafka-dispatch', description: 'Where a secretKeyRef {name, key} is read: <dir>/<name>/<key>, else env <NAME>_<KEY>.', parse: nonEmpty }),
] as const satisfies readonly OptionSpec<any>[];

type Optional = 'sinkHost' | 'deadLetterSinkUri' | 'deadLetterTopic' | 'replyTopic' | 'saslMechanism' | 'saslUsername' | 'saslPassword' | 'tlsCaCert' | 'tlsCert' | 'tlsKey' | 'sinkCaCerts' | 'sinkClientCert' | 'sinkClientKey' | 'sinkTokenFile';

export const DEFAULTS: Omit<Settings, 'brokers' | 'topics' | 'sinkUri' | Optional> & { [K in Optional]: undefined } = {
  groupId: 'kafka-dispatch',
  clientId: 'kafka-dispatch',
  initialOffset: 'latest',
  // Knative's defaults when `delivery` is omitted.
  requestTimeoutMs: 600_000,
  retry: 10,
  backoffPolicy: 'exponential',
  backoffDelayMs: 300,
  ordering: 'ordered',
  maxInFlight: 256,
  maxInFlightPerPartition: 50,
  commitIntervalMs: 5000,
  sessionTimeoutMs: 30_000,
  shutdownGraceMs: 30_000,
  metricsPort: 9464,
  lagIntervalMs: 5000,
  format: 'cloudevents',
  sourceNamespace: 'default',
  sourceName: 'kafka-dispatch',
  keyType: 'string',
  ceExtensions: {},
  nullKeys: 'partition',
  failurePolicy: 'skip',
  maxRecordAgeMs: 0,
  maxRetryAfterMs: 60_000,
  retryJitter: 0,
  maxBackoffMs: 60_000,
  rateLimit: 0,
  maxBufferedRecords: 1024,
  fetchMaxBytesPerPartition: 256 * 1024,
  fetchMaxWaitMs: 100,
  tlsEnabled: false,
  secretsDir: '/var/run/secrets/kafka-dispatch',
  sinkHost: undefined,
  deadLetterSinkUri: undefined,
  deadLetterTopic: undefined,
  replyTopic: undefined,
  saslMechanism: undefined,
  saslUsername: undefined,
  saslPassword: undefined,
  tlsCaCert: undefined,
  tlsCert: undefined,
  tlsKey: undefined,
  sinkCaCerts: undefined,
  sinkClientCert: undefined,
  sinkClientKey: undefined,
  sinkTokenFile: undefined,
};

export function optionFor<K extends SettingKey>(key: K): OptionSpec<K> {
  return (OPTIONS as readonly OptionSpec[]).find((o) => o.key === key) as unknown as OptionSpec<K>;
}

export type { PartialSettings };
