import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/dispatch/scheduler.js';
import type { KafkaRecord } from '../../src/source/record.js';
import { rec } from '../helpers/records.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A scheduler with lane runs whose runs the test finishes by hand. */
function harness(ordering: 'ordered' | 'key', maxRecords: number, maxBytes = 1024 * 1024) {
  const runs: Array<{ records: KafkaRecord[]; finish: () => void }> = [];
  const singles: KafkaRecord[] = [];
  const scheduler = new Scheduler({
    ordering,
    maxInFlight: 100,
    maxInFlightPerPartition: 100,
    run: (record) => {
      singles.push(record);
      return new Promise<void>((resolve) => runs.push({ records: [record], finish: resolve }));
    },
    laneRuns: {
      maxRecords,
      maxBytes,
      bytesOf: (record) => record.value?.length ?? 0,
      runRun: (records) => new Promise<void>((resolve) => runs.push({ records, finish: resolve })),
    },
  });
  const started = () => runs.map((run) => run.records.map((record) => record.offset));
  return { scheduler, runs, singles, started };
}

describe('Scheduler lane runs (batching with order)', () => {
  it('ordered: a partition hands over consecutive records as one run, and the next run only after it finished', async () => {
    const { scheduler, runs, started } = harness('ordered', 3);
    for (let offset = 0; offset < 7; offset++) scheduler.submit(rec('t', 0, offset));
    await flush();
    // The first record starts alone (the lane was empty); what queued behind it goes in runs.
    expect(started()).toEqual([[0]]);
    runs[0]!.finish();
    await flush();
    expect(started()).toEqual([[0], [1, 2, 3]]);
    expect(scheduler.running).toBe(3);
    runs[1]!.finish();
    await flush();
    expect(started()).toEqual([[0], [1, 2, 3], [4, 5, 6]]);
    runs[2]!.finish();
    await scheduler.idle();
    expect(scheduler.queuedOrRunning).toBe(0);
  });

  it('key: runs per key, many keys at once, never two runs of one key', async () => {
    const { scheduler, runs, started } = harness('key', 10);
    const keys = ['a', 'b', 'a', 'a', 'b', 'c'];
    keys.forEach((key, offset) => scheduler.submit(rec('t', 0, offset, key)));
    await flush();
    expect(started()).toEqual([[0], [1], [5]]);
    for (const run of runs.slice()) run.finish();
    await flush();
    expect(started().slice(3)).toEqual([[2, 3], [4]]);
    for (const run of runs.slice(3)) run.finish();
    await scheduler.idle();
  });

  it('a run stops before its values pass max bytes, and takes at least one record', async () => {
    const { scheduler, runs, started } = harness('ordered', 10, 5);
    // Values are v0, v1, ...: 2 bytes each, so runs of two.
    for (let offset = 0; offset < 6; offset++) scheduler.submit(rec('t', 0, offset));
    await flush();
    for (let i = 0; i < 4; i++) {
      runs[i]!.finish();
      await flush();
    }
    expect(started()).toEqual([[0], [1, 2], [3, 4], [5]]);
  });

  it('a revoked partition keeps its running run and drops only what was queued', async () => {
    const { scheduler, runs } = harness('ordered', 3);
    for (let offset = 0; offset < 3; offset++) scheduler.submit(rec('t', 0, offset));
    await flush();
    runs[0]!.finish();
    await flush();
    for (let offset = 3; offset < 6; offset++) scheduler.submit(rec('t', 0, offset));
    // Running: [1, 2]; queued: 3, 4, 5.
    expect(scheduler.dropPartition('t', 0)).toBe(3);
    expect(scheduler.queuedOrRunning).toBe(2);
    runs[1]!.finish();
    await scheduler.idle();
    expect(runs).toHaveLength(2);
  });
});
