import { z } from 'zod';
import { formatDurationLimit } from './duration.js';
import {
  boolText,
  brokerList,
  ceOverridesText,
  choice,
  choiceText,
  durationText,
  extensions,
  fileText,
  httpUrl,
  int,
  intText,
  maxMillisOf,
  listText,
  metavarOf,
  millis,
  nonEmpty,
  number,
  numberText,
  parseText,
  pemText,
  secretText,
  stringText,
  topicList,
  topicName,
  urlText,
  type TextFactory,
  type TextSchema,
} from './parsers.js';
import { celExpression, expressionText, namedSinks, sinksText } from './routing.js';

/**
 * The configuration schema: one entry per setting, and in it everything about that setting. Its value
 * schema gives the TypeScript type (`Settings`) and the constraints; `default` gives `DEFAULTS`; its
 * options (usually one, two where two inputs feed one setting) give the environment variables, flags,
 * `kafka-dispatch/<flag>` annotations and text parsers that the loaders use, the README's reference
 * table (scripts/options-table.mjs) and `--help`. The KafkaSource reader (kafkasource.ts) parses the
 * manifest fields that map to a setting with that setting's schema too.
 */

/** One way of giving a setting: an environment variable (or several, the first set one wins) and a flag. */
interface OptionDef<V extends z.ZodType> {
  env: readonly [string, ...string[]];
  flag: string;
  /** Makes the option's text parser from the setting's value schema. */
  text: TextFactory<V>;
  description: string;
  /** Where a KafkaSource says the same, as the README shows it. */
  kafkaSource?: string;
  /** Also read from the manifest's `kafka-dispatch/<flag>` annotation (options KafkaSource lacks). */
  annotation?: true;
  /** `--help`'s placeholder, when the text parser's is too vague (`TEXT`). */
  metavar?: string;
  /** The default column of an option that has no default of its own (another option of the setting has). */
  unset?: string;
  /** Other settings this option sets along with its own (ASK's retry interval means a fixed backoff). */
  implies?: Readonly<Record<string, unknown>>;
}

interface SettingBase<V extends z.ZodType> {
  /** The resolved value's type and constraints. */
  value: V;
  /** `ms` values are printed in seconds (`600 s`), `bytes` with their KiB. */
  unit?: 'ms' | 'bytes';
  /** Said after the default: `600 s (Knative)`. */
  note?: string;
  /** What 0 means: `0 (no limit)`. */
  zero?: string;
  /** What leaving it unset means, instead of `none`: `system CAs`. */
  unset?: string;
  /** Credentials: never printed, never logged. */
  secret?: true;
  /** How `validate` shows it: URLs with credentials masked, PEM as its size. */
  display?: 'url' | 'pem';
  options: readonly [OptionDef<V>, ...OptionDef<V>[]];
}

/** A setting as the schema holds it: `schema` is the value schema, optional when unset is allowed. */
export type SettingDef<V extends z.ZodType = z.ZodType, S extends z.ZodType = z.ZodType> = SettingBase<V> & {
  required: boolean;
  default: z.output<V> | undefined;
  schema: S;
};

function setting<V extends z.ZodType>(def: SettingBase<V> & { required: true }): SettingDef<V, V> & { required: true };
function setting<V extends z.ZodType>(def: SettingBase<V> & { default: undefined }): SettingDef<V, z.ZodOptional<V>> & { required: false };
function setting<V extends z.ZodType>(def: SettingBase<V> & { default: z.output<V> }): SettingDef<V, V> & { required: false };
function setting<V extends z.ZodType>(def: SettingBase<V> & { required?: true; default?: z.output<V> }): SettingDef<V> {
  const required = def.required === true;
  return { ...def, required, default: def.default, schema: required || def.default !== undefined ? def.value : def.value.optional() };
}

/** The value schemas that name a type of their own. */
export const ORDERING = choice('ordered', 'unordered', 'key');
export const BACKOFF_POLICY = choice('exponential', 'linear', 'fixed');
export const INITIAL_OFFSET = choice('earliest', 'latest');
export const FORMAT = choice('cloudevents', 'raw');
export const KEY_TYPE = choice('string', 'int', 'float', 'byte-array');
export const FAILURE_POLICY = choice('skip', 'block');
export const NULL_KEYS = choice('partition', 'unordered');
export const CONCURRENCY_LIMIT = choice('fixed', 'adaptive', 'demand');
export const SASL_MECHANISM = choice('plain', 'scram-sha-256', 'scram-sha-512');
export const BATCH_FORMAT = choice('json-array', 'kserve-v1', 'oip-v2', 'cloudevents-batch');

export type Ordering = z.output<typeof ORDERING>;
export type BackoffPolicy = z.output<typeof BACKOFF_POLICY>;
export type InitialOffset = z.output<typeof INITIAL_OFFSET>;
export type Format = z.output<typeof FORMAT>;
export type KeyType = z.output<typeof KEY_TYPE>;
export type FailurePolicy = z.output<typeof FAILURE_POLICY>;
export type NullKeys = z.output<typeof NULL_KEYS>;
export type SaslMechanism = z.output<typeof SASL_MECHANISM>;
export type BatchFormat = z.output<typeof BATCH_FORMAT>;

/**
 * Duration limits. None may pass what a timer can wait (TIMER_MAX_MS, about 24.8 days); each is
 * tighter where a longer value can only be a slip: a day for a request or a wait between attempts,
 * an hour for the group's and the process's own rhythms, a minute for a fetch's long poll.
 */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const pem = z.string();

/** The single sink's value schemas, which each named sink's fields (SINKS) share. */
const REQUEST_TIMEOUT = millis({ positive: true, max: DAY });
const RETRY_COUNT = int(0, 1_000_000);
const BACKOFF_DELAY = millis({ max: DAY });
const NAMED_SINKS = namedSinks({
  uri: httpUrl,
  host: nonEmpty,
  requestTimeoutMs: REQUEST_TIMEOUT,
  retry: RETRY_COUNT,
  backoffPolicy: BACKOFF_POLICY,
  backoffDelayMs: BACKOFF_DELAY,
  deadLetterSinkUri: httpUrl,
});
const SINKS_TEXT = sinksText({
  uri: urlText(httpUrl),
  host: stringText(nonEmpty),
  timeout: durationText(REQUEST_TIMEOUT),
  retry: intText(RETRY_COUNT),
  backoffPolicy: choiceText(BACKOFF_POLICY),
  backoffDelay: durationText(BACKOFF_DELAY),
  deadLetterSink: urlText(httpUrl),
});

export const SCHEMA = {
  brokers: setting({
    value: brokerList,
    required: true,
    options: [
      {
        env: ['KAFKA_BROKERS'],
        flag: 'brokers',
        text: listText,
        kafkaSource: 'spec.bootstrapServers',
        description: 'Bootstrap servers, comma-separated host:port.',
      },
    ],
  }),
  topics: setting({
    value: topicList,
    required: true,
    options: [
      {
        env: ['KAFKA_TOPICS'],
        flag: 'topics',
        text: listText,
        kafkaSource: 'spec.topics',
        description: 'Topics to consume, comma-separated.',
      },
    ],
  }),
  groupId: setting({
    value: nonEmpty,
    default: 'kafka-dispatch',
    note: 'from a manifest: kafka-dispatch-<namespace>-<name>',
    options: [
      {
        env: ['KAFKA_GROUP'],
        flag: 'group',
        text: stringText,
        metavar: 'NAME',
        kafkaSource: 'spec.consumerGroup',
        description: 'Consumer group id.',
      },
    ],
  }),
  clientId: setting({
    value: nonEmpty,
    default: 'kafka-dispatch',
    options: [
      {
        env: ['KAFKA_CLIENT_ID'],
        flag: 'client-id',
        text: stringText,
        metavar: 'NAME',
        description: 'Kafka client id (shows in broker logs and quotas).',
      },
    ],
  }),
  initialOffset: setting({
    value: INITIAL_OFFSET,
    default: 'latest',
    options: [
      {
        env: ['KAFKA_INITIAL_OFFSET'],
        flag: 'initial-offset',
        text: choiceText,
        kafkaSource: 'spec.initialOffset',
        description: 'Where a group with no committed offset starts: earliest or latest.',
      },
    ],
  }),
  sinkUri: setting({
    value: httpUrl,
    required: true,
    display: 'url',
    options: [
      {
        env: ['K_SINK', 'SINK_URI'],
        flag: 'sink',
        text: urlText,
        kafkaSource: 'spec.sink.uri',
        description: 'Where records are POSTed. K_SINK is what a Knative SinkBinding injects; it wins over SINK_URI.',
      },
    ],
  }),
  /** Sent as the Host header instead of the sink URI's authority (ASK `k8s.aliyun.com/domain`). */
  sinkHost: setting({
    value: nonEmpty,
    default: undefined,
    unset: "the sink URI's host",
    options: [
      {
        env: ['SINK_HOST_HEADER'],
        flag: 'host-header',
        text: stringText,
        metavar: 'HOST',
        kafkaSource: 'metadata.annotations["k8s.aliyun.com/domain"]',
        description: "Host header sent to the sink URI's address; how a Knative gateway picks the service.",
      },
    ],
  }),
  /** Per attempt. */
  requestTimeoutMs: setting({
    value: REQUEST_TIMEOUT,
    default: 600_000,
    unit: 'ms',
    note: 'Knative',
    options: [
      {
        env: ['REQUEST_TIMEOUT'],
        flag: 'request-timeout',
        text: durationText,
        kafkaSource: 'spec.delivery.timeout, annotation k8s.aliyun.com/req-timeout',
        description: 'Timeout of one attempt, seconds (decimals allowed) or ISO-8601.',
      },
    ],
  }),
  /** Retries after the first attempt. */
  retry: setting({
    value: RETRY_COUNT,
    default: 10,
    note: 'Knative, delivery omitted',
    options: [
      {
        env: ['RETRY_COUNT'],
        flag: 'retry-count',
        text: intText,
        kafkaSource: 'spec.delivery.retry, annotation k8s.aliyun.com/retry-count',
        description: 'Retries after the first attempt.',
      },
    ],
  }),
  backoffPolicy: setting({
    value: BACKOFF_POLICY,
    default: 'exponential',
    options: [
      {
        env: ['BACKOFF_POLICY'],
        flag: 'backoff-policy',
        metavar: 'POLICY',
        text: choiceText,
        kafkaSource: 'spec.delivery.backoffPolicy',
        description: 'exponential (delay × 2^n), linear (delay × n) or fixed (delay); n = 1 for the first retry.',
      },
    ],
  }),
  backoffDelayMs: setting({
    value: BACKOFF_DELAY,
    default: 300,
    unit: 'ms',
    note: 'Knative',
    options: [
      {
        env: ['BACKOFF_DELAY'],
        flag: 'backoff-delay',
        text: durationText,
        kafkaSource: 'spec.delivery.backoffDelay',
        description: 'Base delay of the backoff policy, seconds or ISO-8601.',
      },
      {
        env: ['RETRY_INTERVAL'],
        flag: 'retry-interval',
        text: durationText,
        kafkaSource: 'annotation k8s.aliyun.com/retry-interval',
        unset: 'none',
        implies: { backoffPolicy: 'fixed' },
        description: 'ASK style: a fixed wait between attempts, seconds (decimals allowed). Sets backoff-policy to fixed.',
      },
    ],
  }),
  ordering: setting({
    value: ORDERING,
    default: 'ordered',
    options: [
      {
        env: ['ORDERING'],
        flag: 'ordering',
        text: choiceText,
        kafkaSource: 'spec.ordering',
        description:
          'ordered: one request in flight per partition; unordered: up to max-in-flight-per-partition; key: in order per key, keys in parallel.',
      },
    ],
  }),
  /** Requests in flight across all partitions; fetching waits while it is reached. */
  maxInFlight: setting({
    value: int(1, 100_000),
    default: 256,
    options: [
      {
        env: ['MAX_IN_FLIGHT'],
        flag: 'max-in-flight',
        text: intText,
        annotation: true,
        description: 'Requests in flight across all partitions; fetching pauses while reached.',
      },
    ],
  }),
  concurrencyLimit: setting({
    value: CONCURRENCY_LIMIT,
    default: 'demand',
    options: [
      {
        env: ['CONCURRENCY_LIMIT'],
        flag: 'concurrency-limit',
        text: choiceText,
        annotation: true,
        description:
          "fixed: MAX_IN_FLIGHT requests in flight; adaptive: a limit learned from the sink's latency and overload answers (503, 429, timeouts); demand (the default): what the workload needs, arrival rate × the sink's unloaded latency plus what drains the backlog (BACKLOG_DRAIN, BACKLOG_DRAIN_SHARE), in whole batches with BATCH_MAX_RECORDS, cut on overload answers. Adaptive and demand stay between MIN_IN_FLIGHT and MAX_IN_FLIGHT.",
      },
    ],
  }),
  minInFlight: setting({
    value: int(1, 100_000),
    default: 8,
    options: [
      {
        env: ['MIN_IN_FLIGHT'],
        flag: 'min-in-flight',
        text: intText,
        annotation: true,
        description:
          'With CONCURRENCY_LIMIT=adaptive or demand: the lowest the limit goes (a few requests that hang hold no more than their own slots).',
      },
    ],
  }),
  backlogDrainMs: setting({
    value: millis({ positive: true, max: HOUR }),
    default: 30_000,
    unit: 'ms',
    options: [
      {
        env: ['BACKLOG_DRAIN'],
        flag: 'backlog-drain',
        text: durationText,
        annotation: true,
        description:
          'With CONCURRENCY_LIMIT=demand: how soon a backlog (lag) drains when nothing else arrives, which sets the in-flight it adds to the demand.',
      },
    ],
  }),
  /** While records arrive, a backlog drains at most this share faster than they arrive. */
  backlogDrainShare: setting({
    value: number(0, 10),
    default: 0.15,
    options: [
      {
        env: ['BACKLOG_DRAIN_SHARE'],
        flag: 'backlog-drain-share',
        text: numberText,
        annotation: true,
        description:
          'With CONCURRENCY_LIMIT=demand: while records arrive, a backlog drains at most this share faster than they arrive (0.15: at most 15 % more in flight, and so sink pods, than the live load needs). Higher drains sooner and starts more pods.',
      },
    ],
  }),
  /** Requests in flight within one partition in `unordered` and `key` modes. */
  maxInFlightPerPartition: setting({
    value: int(1, 100_000),
    default: 50,
    options: [
      {
        env: ['MAX_IN_FLIGHT_PER_PARTITION'],
        flag: 'max-in-flight-per-partition',
        text: intText,
        annotation: true,
        description: 'Requests in flight within one partition (unordered and key modes).',
      },
    ],
  }),
  commitIntervalMs: setting({
    value: millis({ positive: true, max: HOUR }),
    default: 5000,
    unit: 'ms',
    note: 'Knative',
    options: [
      {
        env: ['COMMIT_INTERVAL'],
        flag: 'commit-interval',
        text: durationText,
        description: 'How often finished offsets are committed, seconds or ISO-8601.',
      },
    ],
  }),
  /** A member silent this long is dropped from the group and its partitions reassigned. */
  sessionTimeoutMs: setting({
    value: millis({ positive: true, max: HOUR }),
    default: 30_000,
    unit: 'ms',
    options: [
      {
        env: ['KAFKA_SESSION_TIMEOUT'],
        flag: 'session-timeout',
        text: durationText,
        description:
          "Consumer group session timeout: how soon a crashed replica's partitions move to another (the broker allows 6 s to 300 s by default).",
      },
    ],
  }),
  shutdownGraceMs: setting({
    value: millis({ max: HOUR }),
    // The whole stop fits in it; Kubernetes SIGKILLs 30 s after SIGTERM unless the pod says otherwise.
    default: 25_000,
    unit: 'ms',
    note: "inside Kubernetes' default 30 s",
    options: [
      {
        env: ['SHUTDOWN_GRACE'],
        flag: 'shutdown-grace',
        text: durationText,
        description: 'On SIGTERM, the longest the stop takes: in-flight requests finish, offsets are committed, the group is left.',
      },
    ],
  }),
  /**
   * Consumer-group members in one process tree: above 1, `run` forks that many members (one Node
   * event loop, so about one core, each) and serves their metrics and health on one port.
   */
  consumers: setting({
    value: int(1, 64),
    default: 1,
    options: [
      {
        env: ['CONSUMERS'],
        flag: 'consumers',
        text: intText,
        kafkaSource: 'spec.consumers',
        description:
          'Consumer-group members in this pod, each its own process (about one core each); one /metrics, /readyz and drain for all. 1: no extra process.',
      },
    ],
  }),
  /** 0 turns the /metrics, /healthz and /readyz server off. */
  metricsPort: setting({
    value: int(0, 65535),
    default: 9464,
    zero: 'off',
    options: [
      {
        env: ['METRICS_PORT'],
        flag: 'metrics-port',
        text: intText,
        metavar: 'PORT',
        description: 'Port of /metrics, /healthz and /readyz; 0 turns the server off.',
      },
    ],
  }),
  /** How often the group's lag is read from the brokers for every partition of its topics. */
  lagIntervalMs: setting({
    value: millis({ positive: true, max: HOUR }),
    default: 5000,
    unit: 'ms',
    options: [
      {
        env: ['LAG_INTERVAL'],
        flag: 'lag-interval',
        text: durationText,
        description: "How often lag is read for every partition of the group's topics (also the brokers' health check for /readyz).",
      },
    ],
  }),

  /** `cloudevents`: binary mode with Knative's attributes; `raw`: the value alone. */
  format: setting({
    value: FORMAT,
    default: 'cloudevents',
    options: [
      {
        env: ['FORMAT'],
        flag: 'format',
        text: choiceText,
        annotation: true,
        description: "cloudevents: binary mode with Knative's attributes; raw: the value alone as the body.",
      },
    ],
  }),
  /** For ce-source: /apis/v1/namespaces/<namespace>/kafkasources/<name>#<topic>. */
  sourceNamespace: setting({
    value: nonEmpty,
    default: 'default',
    options: [
      {
        env: ['SOURCE_NAMESPACE'],
        flag: 'source-namespace',
        text: stringText,
        metavar: 'NAME',
        kafkaSource: 'metadata.namespace',
        description: 'Namespace in ce-source.',
      },
    ],
  }),
  sourceName: setting({
    value: nonEmpty,
    default: 'kafka-dispatch',
    options: [
      {
        env: ['SOURCE_NAME'],
        flag: 'source-name',
        text: stringText,
        metavar: 'NAME',
        kafkaSource: 'metadata.name',
        description: 'Name in ce-source.',
      },
    ],
  }),
  keyType: setting({
    value: KEY_TYPE,
    default: 'string',
    options: [
      {
        env: ['KEY_TYPE'],
        flag: 'key-type',
        metavar: 'TYPE',
        text: choiceText,
        kafkaSource: 'label kafkasources.sources.knative.dev/key-type',
        description: 'How ce-key is decoded: string, int, float or byte-array.',
      },
    ],
  }),
  /** ceOverrides.extensions: extra CloudEvent attributes on every event. */
  ceExtensions: setting({
    value: extensions,
    default: {},
    options: [
      {
        env: ['K_CE_OVERRIDES'],
        flag: 'ce-overrides',
        text: ceOverridesText,
        kafkaSource: 'spec.ceOverrides.extensions',
        description: 'JSON {"extensions":{...}}: extra CloudEvent attributes on every event.',
      },
    ],
  }),
  /** In `key` mode, records without a key: one lane per partition, or no order at all. */
  nullKeys: setting({
    value: NULL_KEYS,
    default: 'partition',
    options: [
      {
        env: ['NULL_KEYS'],
        flag: 'null-keys',
        text: choiceText,
        annotation: true,
        description: 'key mode: records without a key share one lane per partition (partition) or have no order (unordered).',
      },
    ],
  }),

  deadLetterSinkUri: setting({
    value: httpUrl,
    default: undefined,
    display: 'url',
    options: [
      {
        env: ['DEAD_LETTER_SINK'],
        flag: 'dead-letter-sink',
        text: urlText,
        kafkaSource: 'spec.delivery.deadLetterSink.uri',
        description: 'Where records go when the sink refuses them or retries run out.',
      },
    ],
  }),
  deadLetterTopic: setting({
    value: topicName,
    default: undefined,
    options: [
      {
        env: ['DEAD_LETTER_TOPIC'],
        flag: 'dead-letter-topic',
        text: stringText,
        metavar: 'TOPIC',
        annotation: true,
        description:
          'Kafka topic for failed records (the original record plus kd-error-* headers); tried when there is no dead-letter sink or it failed.',
      },
    ],
  }),
  /** With no dead letter, or when it fails: skip (commit past, logged and counted) or block (retry forever). */
  failurePolicy: setting({
    value: FAILURE_POLICY,
    default: 'skip',
    options: [
      {
        env: ['FAILURE_POLICY'],
        flag: 'failure-policy',
        text: choiceText,
        annotation: true,
        description:
          'No dead letter, or it failed: skip (as Knative: logged, counted, committed past) or block (retry until someone takes it).',
      },
    ],
  }),
  /** Records older than this are dead-lettered instead of retried; 0 = no limit. */
  maxRecordAgeMs: setting({
    value: millis({ max: 24 * DAY }),
    default: 0,
    unit: 'ms',
    zero: 'no limit',
    options: [
      {
        env: ['MAX_RECORD_AGE'],
        flag: 'max-record-age',
        text: durationText,
        annotation: true,
        description: 'A record older than this is dead-lettered instead of retried, seconds or ISO-8601.',
      },
    ],
  }),
  /** Cap on the wait a Retry-After header can ask for. */
  maxRetryAfterMs: setting({
    value: millis({ max: DAY }),
    default: 60_000,
    unit: 'ms',
    options: [
      {
        env: ['MAX_RETRY_AFTER'],
        flag: 'max-retry-after',
        text: durationText,
        annotation: true,
        description: 'Longest wait a Retry-After header may ask for.',
      },
    ],
  }),
  /** Backoff delays are multiplied by a random factor in [1 - jitter, 1 + jitter]. */
  retryJitter: setting({
    value: number(0, 1),
    default: 0,
    options: [
      {
        env: ['RETRY_JITTER'],
        flag: 'retry-jitter',
        text: numberText,
        annotation: true,
        description: 'Randomise each backoff delay by ± this fraction (0 to 1).',
      },
    ],
  }),
  /** Cap on the wait between attempts under the `block` policy. */
  maxBackoffMs: setting({
    value: millis({ positive: true, max: DAY }),
    default: 60_000,
    unit: 'ms',
    options: [
      {
        env: ['MAX_BACKOFF'],
        flag: 'max-backoff',
        text: durationText,
        annotation: true,
        description: 'Longest wait between attempts under failure-policy block.',
      },
    ],
  }),
  /** 2xx response bodies are produced to this topic, keyed like the input record. */
  replyTopic: setting({
    value: topicName,
    default: undefined,
    options: [
      {
        env: ['REPLY_TOPIC'],
        flag: 'reply-topic',
        text: stringText,
        metavar: 'TOPIC',
        annotation: true,
        description: 'Produce each 2xx response body (e.g. the inference result) to this topic, keyed like the input.',
      },
    ],
  }),
  /** Micro-batching (README, "Micro-batching"): records per request; 1 = off, one record per request. */
  batchMaxRecords: setting({
    value: int(1, 10_000),
    default: 1,
    note: 'off',
    options: [
      {
        env: ['BATCH_MAX_RECORDS'],
        flag: 'batch-max-records',
        text: intText,
        annotation: true,
        description: 'Send up to this many records in one request (batch-format); 1 sends each record alone, as without batching.',
      },
    ],
  }),
  /** A batch is closed before its values pass this many bytes (one larger record still goes, alone). */
  batchMaxBytes: setting({
    value: int(1024, 64 * 1024 * 1024),
    default: 1024 * 1024,
    unit: 'bytes',
    options: [
      {
        env: ['BATCH_MAX_BYTES'],
        flag: 'batch-max-bytes',
        text: intText,
        metavar: 'BYTES',
        annotation: true,
        description: "Close a batch before its records' values pass this many bytes; a larger record goes alone.",
      },
    ],
  }),
  /** How long the first record of a batch waits for more before the batch goes anyway. */
  batchMaxWaitMs: setting({
    value: millis({ max: MINUTE }),
    default: 10,
    unit: 'ms',
    zero: 'send what is there',
    options: [
      {
        env: ['BATCH_MAX_WAIT'],
        flag: 'batch-max-wait',
        text: durationText,
        annotation: true,
        description: 'Longest a record waits for others to fill its batch before the batch is sent short.',
      },
    ],
  }),
  /** The body of a batch request and how its response maps back to the records. */
  batchFormat: setting({
    value: BATCH_FORMAT,
    default: 'json-array',
    options: [
      {
        env: ['BATCH_FORMAT'],
        flag: 'batch-format',
        text: choiceText,
        annotation: true,
        description:
          'Batch body: a JSON array of the values (json-array), KServe v1 {"instances":[...]}, Open Inference Protocol v2 {"inputs":[...]}, or application/cloudevents-batch+json.',
      },
    ],
  }),
  /** An item of a batch response that is an object with this field (not null) failed; `none` (read as '') = items never fail. */
  batchItemErrorField: setting({
    // An empty variable reads as unset: `none` is how to say no item ever fails.
    value: z
      .string()
      .min(1)
      .max(200)
      .transform((field) => (field === 'none' ? '' : field)),
    default: 'error',
    options: [
      {
        env: ['BATCH_ITEM_ERROR_FIELD'],
        flag: 'batch-item-error-field',
        text: stringText,
        metavar: 'FIELD',
        annotation: true,
        description:
          'A response item that is an object with this field set (not null) is a failed item: retried alone, then dead-lettered alone. none: items never fail.',
      },
    ],
  }),
  /** oip-v2: the name and datatype of the one input tensor the batch becomes. */
  batchOipInput: setting({
    value: nonEmpty,
    default: 'input-0',
    options: [
      {
        env: ['BATCH_OIP_INPUT'],
        flag: 'batch-oip-input',
        text: stringText,
        metavar: 'NAME',
        annotation: true,
        description: 'oip-v2: the name of the input tensor holding the batch (one row per record).',
      },
    ],
  }),
  batchOipDatatype: setting({
    value: nonEmpty,
    default: 'FP32',
    options: [
      {
        env: ['BATCH_OIP_DATATYPE'],
        flag: 'batch-oip-datatype',
        text: stringText,
        metavar: 'TYPE',
        annotation: true,
        description: 'oip-v2: the datatype of the input tensor (FP32, INT64, BYTES, ...).',
      },
    ],
  }),
  /** Requests started per second, 0 = no limit. */
  rateLimit: setting({
    value: number(0),
    default: 0,
    zero: 'no limit',
    options: [
      {
        env: ['RATE_LIMIT'],
        flag: 'rate-limit',
        text: numberText,
        annotation: true,
        description: 'Requests started per second across the process.',
      },
    ],
  }),
  /** Records fetched ahead of dispatch before fetching pauses. */
  maxBufferedRecords: setting({
    value: int(1, 10_000_000),
    default: 1024,
    options: [
      {
        env: ['MAX_BUFFERED_RECORDS'],
        flag: 'max-buffered-records',
        text: intText,
        annotation: true,
        description:
          'Records fetched ahead of dispatch; past it fetching pauses (and resumes below half of it), so memory stays bounded whatever the lag.',
      },
    ],
  }),
  /** Bytes one fetch may bring per partition: with maxBufferedRecords, what bounds memory. */
  fetchMaxBytesPerPartition: setting({
    value: int(1024, 64 * 1024 * 1024),
    default: 256 * 1024,
    unit: 'bytes',
    options: [
      {
        env: ['FETCH_MAX_BYTES_PER_PARTITION'],
        flag: 'fetch-max-bytes-per-partition',
        text: intText,
        metavar: 'BYTES',
        annotation: true,
        description:
          'Bytes one fetch brings per partition. Memory stays below max-buffered-records plus partitions × this, whatever the lag.',
      },
    ],
  }),
  /** Longest a fetch waits for new data: bounds the delay after fetching resumes. */
  fetchMaxWaitMs: setting({
    value: millis({ positive: true, max: MINUTE }),
    default: 100,
    unit: 'ms',
    options: [
      {
        env: ['FETCH_MAX_WAIT'],
        flag: 'fetch-max-wait',
        text: durationText,
        annotation: true,
        description:
          'Longest a fetch waits for new records. Short, so a resumed partition or a new record is not held up behind an idle long poll.',
      },
    ],
  }),

  /** CEL over the record; records it is not true for are finished without a request (outcome filtered). */
  filter: setting({
    value: celExpression('filter'),
    default: undefined,
    unset: 'every record',
    options: [
      {
        env: ['FILTER'],
        flag: 'filter',
        text: expressionText,
        annotation: true,
        description:
          'CEL expression over key, value (JSON when it is JSON), headers, topic, partition, offset, timestamp: records it is not true for (or fails on) are committed without a request, counted as outcome filtered.',
      },
    ],
  }),
  /** Named sinks besides K_SINK (`default`), chosen per record by the route. */
  sinks: setting({
    value: NAMED_SINKS,
    default: undefined,
    unset: 'K_SINK only',
    options: [
      {
        env: ['SINKS'],
        flag: 'sinks',
        text: SINKS_TEXT,
        annotation: true,
        description:
          "JSON or YAML map name → {uri, host, timeout, retry, backoffPolicy, backoffDelay, deadLetterSink} (or name → uri): the sinks ROUTE chooses from, each with its own connections, retries and dead letter; a field left out takes the setting it mirrors (host: the URI's).",
      },
    ],
  }),
  /** CEL returning a sink's name per record. */
  route: setting({
    value: celExpression('route'),
    default: undefined,
    unset: 'every record to K_SINK',
    options: [
      {
        env: ['ROUTE'],
        flag: 'route',
        text: expressionText,
        annotation: true,
        description:
          'CEL expression returning the name of the sink (one of SINKS, or default for K_SINK) each record goes to, e.g. headers.model; a record it fails on or names no sink is dead-lettered (or skipped) with the reason.',
      },
    ],
  }),

  saslMechanism: setting({
    value: SASL_MECHANISM,
    default: undefined,
    options: [
      {
        env: ['KAFKA_SASL_MECHANISM'],
        flag: 'sasl-mechanism',
        metavar: 'MECHANISM',
        text: choiceText,
        kafkaSource: 'spec.net.sasl.type',
        description: 'plain, scram-sha-256 or scram-sha-512.',
      },
    ],
  }),
  saslUsername: setting({
    value: nonEmpty,
    default: undefined,
    options: [
      {
        env: ['KAFKA_SASL_USERNAME'],
        flag: 'sasl-username',
        text: stringText,
        metavar: 'USER',
        kafkaSource: 'spec.net.sasl.user',
        description: 'SASL user.',
      },
    ],
  }),
  saslPassword: setting({
    value: nonEmpty,
    default: undefined,
    secret: true,
    options: [
      {
        env: ['KAFKA_SASL_PASSWORD'],
        flag: 'sasl-password',
        text: secretText,
        metavar: 'PASSWORD',
        kafkaSource: 'spec.net.sasl.password',
        description: 'SASL password (never printed or logged).',
      },
    ],
  }),
  tlsEnabled: setting({
    value: z.boolean(),
    default: false,
    options: [
      { env: ['KAFKA_TLS'], flag: 'kafka-tls', text: boolText, kafkaSource: 'spec.net.tls.enable', description: 'TLS to the brokers.' },
    ],
  }),
  /** PEM contents, not paths. */
  tlsCaCert: setting({
    value: pem,
    default: undefined,
    unset: 'system CAs',
    display: 'pem',
    options: [
      {
        env: ['KAFKA_TLS_CA_FILE'],
        flag: 'kafka-tls-ca-file',
        text: fileText,
        kafkaSource: 'spec.net.tls.caCert',
        description: 'CA certificates for the brokers (PEM file).',
      },
    ],
  }),
  tlsCert: setting({
    value: pem,
    default: undefined,
    display: 'pem',
    options: [
      {
        env: ['KAFKA_TLS_CERT_FILE'],
        flag: 'kafka-tls-cert-file',
        text: fileText,
        kafkaSource: 'spec.net.tls.cert',
        description: 'Client certificate for the brokers (PEM file).',
      },
    ],
  }),
  tlsKey: setting({
    value: pem,
    default: undefined,
    secret: true,
    options: [
      {
        env: ['KAFKA_TLS_KEY_FILE'],
        flag: 'kafka-tls-key-file',
        text: fileText,
        kafkaSource: 'spec.net.tls.key',
        description: 'Client key for the brokers (PEM file).',
      },
    ],
  }),

  /** PEM of CAs trusted for an https sink (K_CA_CERTS). */
  sinkCaCerts: setting({
    value: pem,
    default: undefined,
    unset: 'system CAs',
    display: 'pem',
    options: [
      {
        env: ['K_CA_CERTS'],
        flag: 'sink-ca-certs',
        text: pemText,
        kafkaSource: 'spec.sink.CACerts',
        description: 'PEM of the CAs trusted for an https sink (what a SinkBinding injects).',
      },
      { env: ['SINK_CA_FILE'], flag: 'sink-ca-file', text: fileText, description: 'The same, from a file.' },
    ],
  }),
  sinkClientCert: setting({
    value: pem,
    default: undefined,
    display: 'pem',
    options: [
      {
        env: ['SINK_CLIENT_CERT_FILE'],
        flag: 'sink-client-cert-file',
        text: fileText,
        description: 'Client certificate for the sink (PEM file).',
      },
    ],
  }),
  sinkClientKey: setting({
    value: pem,
    default: undefined,
    secret: true,
    options: [
      { env: ['SINK_CLIENT_KEY_FILE'], flag: 'sink-client-key-file', text: fileText, description: 'Client key for the sink (PEM file).' },
    ],
  }),
  /** File with a bearer token for the sink, re-read when it changes (OIDC audience setups). */
  sinkTokenFile: setting({
    value: nonEmpty,
    default: undefined,
    options: [
      {
        env: ['SINK_TOKEN_FILE'],
        flag: 'sink-token-file',
        text: stringText,
        metavar: 'FILE',
        kafkaSource: 'spec.sink.audience (token mounted by the platform)',
        description: 'File holding a bearer token for the sink; re-read when it changes.',
      },
    ],
  }),
  /** Where secretKeyRef values are looked up: <dir>/<name>/<key>. */
  secretsDir: setting({
    value: nonEmpty,
    default: '/var/run/secrets/kafka-dispatch',
    options: [
      {
        env: ['SECRETS_DIR'],
        flag: 'secrets-dir',
        text: stringText,
        metavar: 'DIR',
        description: 'Where a secretKeyRef {name, key} is read: <dir>/<name>/<key>, else env <NAME>_<KEY>.',
      },
    ],
  }),
} as const;

type Schema = typeof SCHEMA;

/** The resolved configuration every other part of the dispatcher reads. Built by `resolveConfig`. */
export type Settings = { -readonly [K in keyof Schema]: z.output<Schema[K]['schema']> };
export type SettingKey = keyof Settings;
export type PartialSettings = { [K in SettingKey]?: Settings[K] };
type RequiredKey = { [K in SettingKey]: Schema[K] extends { required: true } ? K : never }[SettingKey];

const SETTING_KEYS = Object.keys(SCHEMA) as SettingKey[];
const def = (key: SettingKey): SettingDef => SCHEMA[key] as unknown as SettingDef;

/** Settings with no default: brokers, topics, sinkUri. */
export const REQUIRED_SETTINGS = SETTING_KEYS.filter((key) => def(key).required) as RequiredKey[];

/** Every setting but the required ones, at its default (`undefined` for those unset by default). */
export const DEFAULTS = Object.fromEntries(SETTING_KEYS.filter((key) => !def(key).required).map((key) => [key, def(key).default])) as Omit<
  Settings,
  RequiredKey
>;

/** Settings that hold credentials: never printed, never logged. */
export const SECRET_SETTINGS = SETTING_KEYS.filter((key) => def(key).secret) as readonly SettingKey[];

/** One option as the loaders, the README and `--help` see it. */
export interface OptionSpec<K extends SettingKey = SettingKey> {
  key: K;
  env: readonly string[];
  flag: string;
  /** What a KafkaSource has instead, for the README, with `annotation kafka-dispatch/<flag>` when annotatable; undefined: nothing. */
  kafkaSource: string | undefined;
  annotation: boolean;
  description: string;
  /** Text → value: a zod schema. */
  text: TextSchema<Settings[K]>;
  metavar: string;
  parse: (text: string) => { value: Settings[K] } | { error: string };
  implies: PartialSettings | undefined;
  /** The default column: `600 s (Knative)`, `256`, `none`, `(required)`. */
  defaultText: string;
}

export const OWN_ANNOTATION_PREFIX = 'kafka-dispatch/';

export const OPTIONS: readonly OptionSpec[] = SETTING_KEYS.flatMap((key) =>
  (def(key).options as readonly OptionDef<z.ZodType>[]).map((option): OptionSpec => {
    const text = option.text(def(key).value) as TextSchema<never>;
    const own = option.annotation ? `annotation ${OWN_ANNOTATION_PREFIX}${option.flag}` : undefined;
    return {
      key,
      env: option.env,
      flag: option.flag,
      kafkaSource: [option.kafkaSource, own].filter(Boolean).join(', ') || undefined,
      annotation: option.annotation === true,
      description: withLimit(option.description, def(key).value),
      text,
      metavar: option.metavar ?? metavarOf(text),
      parse: (input) => parseText(text, input),
      implies: checkImplies(option),
      defaultText: defaultText(key, option),
    };
  }),
);

/** A duration's description ends with its limit, so the README and `--help` state the one the schema checks. */
function withLimit(description: string, value: z.ZodType): string {
  const max = maxMillisOf(value);
  return max === undefined ? description : `${description} At most ${formatDurationLimit(max)}.`;
}

/** A setting's first (main) option, or the one with that flag. */
export function optionFor<K extends SettingKey>(key: K, flag?: string): OptionSpec<K> {
  const option = OPTIONS.find((o) => o.key === key && (flag === undefined || o.flag === flag));
  if (!option) throw new Error(`schema: no option --${flag} for ${key}`);
  return option as unknown as OptionSpec<K>;
}

export function optionByFlag(flag: string): OptionSpec | undefined {
  return OPTIONS.find((o) => o.flag === flag);
}

/** The options a `kafka-dispatch/<flag>` annotation may set. */
export const ANNOTATABLE = OPTIONS.filter((o) => o.annotation);

/** `implies` is typed loosely in the schema (the schema cannot name its own type): checked here, once. */
function checkImplies(option: OptionDef<z.ZodType>): PartialSettings | undefined {
  if (!option.implies) return undefined;
  for (const [key, value] of Object.entries(option.implies)) {
    if (!(key in SCHEMA) || !def(key as SettingKey).value.safeParse(value).success) {
      throw new Error(`schema: --${option.flag} implies ${key}=${JSON.stringify(value)}, which is no valid setting`);
    }
  }
  return option.implies as PartialSettings;
}

/** A setting's value as a user writes it: `600 s`, `0.3 s`, `0 (no limit)`, `262144 (256 KiB)`, `a,b`, JSON. */
export function formatValue(key: SettingKey, value: unknown): string {
  const d = def(key);
  if (typeof value === 'number') {
    if (value === 0 && d.zero) return `0 (${d.zero})`;
    if (d.unit === 'ms') return `${Number((value / 1000).toFixed(3))} s`;
    if (d.unit === 'bytes' && value >= 1024) return `${value} (${formatBytes(value)})`;
    return String(value);
  }
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

function formatBytes(bytes: number): string {
  const [size, unit] = bytes >= 1024 * 1024 ? [bytes / (1024 * 1024), 'MiB'] : [bytes / 1024, 'KiB'];
  return `${Number(size.toFixed(1))} ${unit}`;
}

/** What an unset setting means: `none`, or the setting's own words (`system CAs`). */
export function unsetText(key: SettingKey): string {
  return def(key).unset ?? 'none';
}

function defaultText(key: SettingKey, option: OptionDef<z.ZodType>): string {
  const d = def(key);
  if (d.required) return '(required)';
  if (option.unset !== undefined) return option.unset;
  const value = (DEFAULTS as Record<string, unknown>)[key];
  if (value === undefined) return unsetText(key);
  return `${formatValue(key, value)}${d.note ? ` (${d.note})` : ''}`;
}

/** How `validate` and the redaction treat a setting. */
export function displayOf(key: SettingKey): {
  secret: boolean;
  display: 'url' | 'pem' | undefined;
  required: boolean;
  unset: string | undefined;
} {
  const d = def(key);
  return { secret: d.secret === true, display: d.display, required: d.required, unset: d.unset };
}

export { SETTING_KEYS };
