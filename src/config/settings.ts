/** The resolved configuration every other part of the dispatcher reads. Built by `resolveSettings`. */
export type Ordering = 'ordered' | 'unordered' | 'key';
export type BackoffPolicy = 'exponential' | 'linear' | 'fixed';
export type InitialOffset = 'earliest' | 'latest';
export type Format = 'cloudevents' | 'raw';
export type KeyType = 'string' | 'int' | 'float' | 'byte-array';
export type FailurePolicy = 'skip' | 'block';
export type NullKeys = 'partition' | 'unordered';
export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface Settings {
  brokers: string[];
  topics: string[];
  groupId: string;
  clientId: string;
  initialOffset: InitialOffset;
  sinkUri: string;
  /** Sent as the Host header instead of the sink URI's authority (ASK `k8s.aliyun.com/domain`). */
  sinkHost: string | undefined;
  /** Per attempt. */
  requestTimeoutMs: number;
  /** Retries after the first attempt. */
  retry: number;
  backoffPolicy: BackoffPolicy;
  backoffDelayMs: number;
  ordering: Ordering;
  /** Requests in flight across all partitions; fetching waits while it is reached. */
  maxInFlight: number;
  /** Requests in flight within one partition in `unordered` and `key` modes. */
  maxInFlightPerPartition: number;
  commitIntervalMs: number;
  /** A member silent this long is dropped from the group and its partitions reassigned. */
  sessionTimeoutMs: number;
  shutdownGraceMs: number;
  /** 0 turns the /metrics, /healthz and /readyz server off. */
  metricsPort: number;
  /** How often the group's lag is read from the brokers for every partition of its topics. */
  lagIntervalMs: number;

  /** `cloudevents`: binary mode with Knative's attributes; `raw`: the value alone. */
  format: Format;
  /** For ce-source: /apis/v1/namespaces/<namespace>/kafkasources/<name>#<topic>. */
  sourceNamespace: string;
  sourceName: string;
  keyType: KeyType;
  /** ceOverrides.extensions: extra CloudEvent attributes on every event. */
  ceExtensions: Record<string, string>;
  /** In `key` mode, records without a key: one lane per partition, or no order at all. */
  nullKeys: NullKeys;

  deadLetterSinkUri: string | undefined;
  deadLetterTopic: string | undefined;
  /** With no dead letter, or when it fails: skip (commit past, logged and counted) or block (retry forever). */
  failurePolicy: FailurePolicy;
  /** Records older than this are dead-lettered instead of retried; 0 = no limit. */
  maxRecordAgeMs: number;
  /** Cap on the wait a Retry-After header can ask for. */
  maxRetryAfterMs: number;
  /** Backoff delays are multiplied by a random factor in [1 - jitter, 1 + jitter]. */
  retryJitter: number;
  /** Cap on the wait between attempts under the `block` policy. */
  maxBackoffMs: number;
  /** 2xx response bodies are produced to this topic, keyed like the input record. */
  replyTopic: string | undefined;
  /** Requests started per second, 0 = no limit. */
  rateLimit: number;
  /** Records fetched ahead of dispatch before fetching pauses. */
  maxBufferedRecords: number;
  /** Bytes one fetch may bring per partition: with maxBufferedRecords, what bounds memory. */
  fetchMaxBytesPerPartition: number;
  /** Longest a fetch waits for new data: bounds the delay after fetching resumes. */
  fetchMaxWaitMs: number;

  saslMechanism: SaslMechanism | undefined;
  saslUsername: string | undefined;
  saslPassword: string | undefined;
  tlsEnabled: boolean;
  /** PEM contents, not paths. */
  tlsCaCert: string | undefined;
  tlsCert: string | undefined;
  tlsKey: string | undefined;

  /** PEM of CAs trusted for an https sink (K_CA_CERTS). */
  sinkCaCerts: string | undefined;
  sinkClientCert: string | undefined;
  sinkClientKey: string | undefined;
  /** File with a bearer token for the sink, re-read when it changes (OIDC audience setups). */
  sinkTokenFile: string | undefined;
  /** Where secretKeyRef values are looked up: <dir>/<name>/<key>. */
  secretsDir: string;
}

/** Settings that hold credentials: never printed, never logged. */
export const SECRET_SETTINGS = ['saslPassword', 'tlsKey', 'sinkClientKey'] as const satisfies readonly SettingKey[];

export type SettingKey = keyof Settings;
export type PartialSettings = { [K in SettingKey]?: Settings[K] };
