/**
 * The batching runs of `npm run bench`: kafka-dispatch against a GPU-like sink whose request of n
 * items costs a + b·n and which serves a fixed number of requests at once, one run per
 * BATCH_MAX_RECORDS. The bound of a run is slots·n ÷ (a + b·n) records/s; the gain is its
 * throughput over one record a request.
 */
import { benchSettings, dispatchInProcess, type DispatchRun, type SinkProcess } from './lib.js';

/**
 * The simulator's GPU cost (800 ms + 25 ms per item, containerConcurrency 2: README, "Micro-batching")
 * ten times faster, so that a run takes seconds: one sink process is one pod.
 */
export const GPU_COST = { aMs: 80, bMs: 2.5, slots: 2 };
/** The cost's time scale against the simulator's: pods of the article's load are counted at full scale. */
const COST_SCALE = 10;
/** The article's load, records/s, and Knative's target utilization. */
const ARTICLE_RATE = 50;
const TARGET_UTILIZATION = 0.7;

export interface BatchingRun extends DispatchRun {
  batchMaxRecords: number;
  /** slots·n ÷ (a + b·n), records/s. */
  bound: number;
  requests: number;
  meanBatch: number;
  /** Pods the article's load needs at this throughput per pod, at the simulator's full-scale cost. */
  podsForArticle: number;
}

/** Records per second one sink process can serve in batches of n, at most. */
export function batchBound(n: number, cost = GPU_COST): number {
  return (cost.slots * n * 1000) / (cost.aMs + cost.bMs * n);
}

/** Pods the article's load needs when one pod serves `perSecond` at the ten-times-faster cost. */
export function podsForArticle(perSecond: number): number {
  return (ARTICLE_RATE * COST_SCALE) / (TARGET_UTILIZATION * perSecond);
}

/**
 * One run: BATCH_MAX_RECORDS=n (json-array), ORDERING=unordered, in flight four batches (two served,
 * two waiting at the sink: what the sink can do is measured, not the limit's pacing of a backlog).
 */
export async function batchingRun(o: {
  brokers: string[];
  topic: string;
  records: number;
  sink: SinkProcess;
  batchMaxRecords: number;
  capMs: number;
}): Promise<BatchingRun> {
  const n = o.batchMaxRecords;
  await o.sink.setCost(GPU_COST);
  await o.sink.reset();
  try {
    const run = await dispatchInProcess(
      benchSettings(o.brokers, o.topic, o.sink.url, 'unordered', {
        concurrencyLimit: 'fixed',
        maxInFlight: 2 * GPU_COST.slots * n,
        batchMaxRecords: n,
        batchFormat: 'json-array',
      }),
      o.records,
      o.capMs,
    );
    const stats = await o.sink.stats();
    return {
      ...run,
      batchMaxRecords: n,
      bound: batchBound(n),
      requests: stats.count,
      meanBatch: stats.count > 0 ? stats.items / stats.count : 0,
      podsForArticle: podsForArticle(run.perSecond),
    };
  } finally {
    await o.sink.setCost({ aMs: 0, bMs: 0, slots: 0 });
  }
}
