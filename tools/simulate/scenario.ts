import type { Ordering } from '../../src/index.js';
import type { CostModel } from '../knative/service.js';
import type { Shape } from '../loadgen/shapes.js';

/**
 * What a simulation runs: the topic, the dispatcher's settings, the emulated Knative Service and the
 * load. Durations are in scenario time; `speed` compresses them all alike (rates × speed, latencies,
 * windows and pod start times ÷ speed), so the concurrency, and the pods it needs, stay the same.
 */
export interface Scenario {
  name: string;
  /** What the scenario shows, printed on the chart. */
  description: string;
  partitions: number;
  ordering: Ordering;
  /** Dispatcher instances in one consumer group (KEDA's replicas). */
  replicas: number;
  maxInFlight: number;
  maxInFlightPerPartition: number;
  concurrencyLimit: 'fixed' | 'adaptive' | 'demand';
  /** BACKLOG_DRAIN in scenario seconds (undefined: the dispatcher's default, 30 s). */
  backlogDrainS?: number;
  /** BACKLOG_DRAIN_SHARE (undefined: the dispatcher's default). */
  backlogDrainShare?: number;
  containerConcurrency: number;
  minScale: number;
  maxScale: number;
  /** Pods ready at the start (0: scaled to zero). */
  initialScale: number;
  /** Seconds from a pod being asked for to it being ready. */
  podStartS: number;
  /** The handler's latency per request, ms (of one record, when `cost` is a batch cost). */
  latencyMs: number;
  /** The handler's cost; absent: `latencyMs` per request. */
  cost?: CostModel;
  /** The dispatcher's BATCH_MAX_RECORDS (absent: 1, no batching). */
  batchMaxRecords?: number;
  /** The dispatcher's REQUEST_TIMEOUT, seconds. */
  requestTimeoutS: number;
  /** The dispatcher's RETRY_COUNT. */
  retryCount: number;
  load: Shape;
  /** How long to keep watching after the load, seconds. */
  tailS: number;
  /** Scenario seconds per real second. */
  speed: number;
  /**
   * Knative's target-burst-capacity (default 200: with containerConcurrency 2 the activator is always
   * in the path and holds what the pods cannot take). 0 takes it out: queue-proxies answer 503 once
   * their queue of 10 × containerConcurrency is full.
   */
  targetBurstCapacity?: number;
}

/**
 * The article: 50 messages a second (sent concurrently each second) for 100 s into an inference
 * service with containerConcurrency 2, minScale 1, maxScale 100. The handler latency is ours to
 * choose (the article does not give it): 1 s, a GPU classifier's order of magnitude.
 */
const ARTICLE: Scenario = {
  name: 'article',
  description:
    "The article's load: 50 msg/s for 100 s, containerConcurrency 2, minScale 1, maxScale 100, 1 s per request, pods ready 10 s after asked",
  partitions: 12,
  ordering: 'ordered',
  replicas: 1,
  maxInFlight: 256,
  maxInFlightPerPartition: 50,
  concurrencyLimit: 'demand',
  containerConcurrency: 2,
  minScale: 1,
  maxScale: 100,
  initialScale: 1,
  podStartS: 10,
  latencyMs: 1000,
  requestTimeoutS: 600,
  retryCount: 10,
  load: { kind: 'burst', concurrency: 50, durationS: 100 },
  tailS: 60,
  speed: 10,
};

export const PRESETS: Record<string, Scenario> = {
  article: ARTICLE,
  /**
   * The load jumps: 20 messages a second for 60 s (15 pods), then 100 a second for 90 s, which
   * needs ⌈100 × 1 s ÷ 1.4⌉ = 72 pods. The dispatcher must follow the step at once and drain the
   * backlog the step leaves, while the new pods start.
   */
  step: {
    ...ARTICLE,
    name: 'step',
    description:
      'A step: 20 msg/s for 60 s, then 100 msg/s for 90 s; containerConcurrency 2, minScale 1, maxScale 100, 1 s per request, pods ready 10 s after asked',
    ordering: 'key',
    load: {
      kind: 'step',
      steps: [
        { rate: 20, durationS: 60 },
        { rate: 100, durationS: 90 },
      ],
    },
  },
  /**
   * A GPU service scaled to zero whose pods take 60 s to start, while the dispatcher's request
   * timeout is 30 s: the records must wait for the cold start, not be given up.
   */
  'scale-from-zero': {
    ...ARTICLE,
    name: 'scale-from-zero',
    description:
      'Scale from zero: minScale 0, pods take 60 s to start, REQUEST_TIMEOUT 30 s, RETRY_COUNT 2; 10 msg/s for 60 s, 1 s per request',
    partitions: 6,
    ordering: 'key',
    minScale: 0,
    maxScale: 50,
    initialScale: 0,
    podStartS: 60,
    requestTimeoutS: 30,
    retryCount: 2,
    load: { kind: 'constant', rate: 10, durationS: 60 },
    tailS: 150,
  },
};

/**
 * A GPU-like model server: a request costs a fixed 800 ms plus 25 ms per item (weights, kernel
 * launches and the transfer are paid per batch, each item only adds its own compute). The article's
 * load (50 msg/s for 100 s, containerConcurrency 2), keys that keep no order.
 */
const GPU: Scenario = {
  ...ARTICLE,
  name: 'gpu',
  description:
    "The article's load into a GPU-like service: a request costs 800 ms + 25 ms per item, containerConcurrency 2; one record per request",
  ordering: 'unordered',
  latencyMs: 825,
  cost: { kind: 'batch', aMs: 800, bMsPerItem: 25 },
};

PRESETS['gpu'] = GPU;
PRESETS['gpu-batched'] = {
  ...GPU,
  name: 'gpu-batched',
  description:
    "The article's load into a GPU-like service: a request costs 800 ms + 25 ms per item, containerConcurrency 2; BATCH_MAX_RECORDS=8",
  batchMaxRecords: 8,
};

/** Pods the load needs once settled: rate × latency ÷ (0.7 × containerConcurrency) (Knative's target). */
export function podsNeeded(rate: number, latencyMs: number, containerConcurrency: number): number {
  return (rate * (latencyMs / 1000)) / (0.7 * containerConcurrency);
}

/**
 * Pods a scenario's load of `rate` records/s needs: with BATCH_MAX_RECORDS n against a batch cost,
 * rate ÷ n requests a second, each of a + b·n (full batches, as under load); otherwise one request a record.
 */
export function scenarioPodsNeeded(scenario: Scenario, rate: number): number {
  const n = scenario.batchMaxRecords ?? 1;
  if (n <= 1 || scenario.cost?.kind !== 'batch') return podsNeeded(rate, scenario.latencyMs, scenario.containerConcurrency);
  return podsNeeded(rate / n, scenario.cost.aMs + scenario.cost.bMsPerItem * n, scenario.containerConcurrency);
}

/** The load's mean rate, messages per scenario second. */
export function meanRate(shape: Shape): number {
  switch (shape.kind) {
    case 'burst':
      return shape.concurrency;
    case 'constant':
      return shape.rate;
    case 'ramp':
      return (shape.from + shape.to) / 2;
    case 'step': {
      const total = shape.steps.reduce((sum, s) => sum + s.rate * s.durationS, 0);
      const duration = shape.steps.reduce((sum, s) => sum + s.durationS, 0);
      return duration > 0 ? total / duration : 0;
    }
  }
}

export function loadDurationS(shape: Shape): number {
  return shape.kind === 'step' ? shape.steps.reduce((sum, s) => sum + s.durationS, 0) : shape.durationS;
}
