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
  option({ key: 'shutdownGraceMs', env: ['SHUTDOWN_GRACE'], flag: 'shutdown-grace', kafkaSource: '-', defaultText: '30 s', description: 'On SIGTERM, how long in-flight requests may take to finish before exit.', parse: duration }),
  option({ key: 'metricsPort', env: ['METRICS_PORT'], flag: 'metrics-port', kafkaSource: '-', defaultText: '9464', description: 'Port of /metrics, /healthz and /readyz; 0 turns the server off.', parse: integer(0, 65535) }),
] as const satisfies readonly OptionSpec<any>[];

export const DEFAULTS: Omit<Settings, 'brokers' | 'topics' | 'sinkUri' | 'sinkHost'> = {
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
  shutdownGraceMs: 30_000,
  metricsPort: 9464,
};

export function optionFor<K extends SettingKey>(key: K): OptionSpec<K> {
  return (OPTIONS as readonly OptionSpec[]).find((o) => o.key === key) as unknown as OptionSpec<K>;
}

export type { PartialSettings };
