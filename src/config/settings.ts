/** The resolved configuration every other part of the dispatcher reads. Built by `resolveSettings`. */
export type Ordering = 'ordered' | 'unordered' | 'key';
export type BackoffPolicy = 'exponential' | 'linear' | 'fixed';
export type InitialOffset = 'earliest' | 'latest';

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
  shutdownGraceMs: number;
  /** 0 turns the /metrics, /healthz and /readyz server off. */
  metricsPort: number;
}

export type SettingKey = keyof Settings;
export type PartialSettings = { [K in SettingKey]?: Settings[K] };
