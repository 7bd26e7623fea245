import { describe, expect, it } from 'vitest';
import { DemandEstimator } from '../../src/telemetry/demand.js';
import { rec } from '../helpers/records.js';

const record = rec('t', 0, 0);

describe("DemandEstimator: Little's law from the topics' end offsets and the sink's latency", () => {
  it('is the arrival rate times the unloaded latency: 50 records/s at 1 s is 50', () => {
    let now = 0;
    const demand = new DemandEstimator({ now: () => now });
    expect(demand.concurrency).toBeUndefined();
    for (let s = 0; s <= 20; s++) {
      demand.observeEndOffsets(50 * s);
      // Queueing late in the run makes answers slower; the unloaded latency stays the lowest seen.
      const latency = s > 15 ? 3000 : 1000;
      for (let i = 0; i < 10; i++) demand.onAttempt(record, { target: 'sink', durationMs: latency, status: 200 });
      now += 1000;
    }
    expect(demand.arrivalRate).toBeCloseTo(50, 5);
    expect(demand.latencySeconds).toBe(1);
    expect(demand.concurrency).toBeCloseTo(50, 5);
  });

  it('ignores failed attempts and dead-letter attempts for the latency, and a shrinking end offset for the rate', () => {
    let now = 0;
    const demand = new DemandEstimator({ now: () => now });
    demand.onAttempt(record, { target: 'sink', durationMs: 5, status: 503 });
    demand.onAttempt(record, { target: 'dead-letter', durationMs: 5, status: 200 });
    now += 2000;
    expect(demand.latencySeconds).toBeUndefined();
    demand.observeEndOffsets(100);
    now += 1000;
    demand.observeEndOffsets(50);
    expect(demand.arrivalRate).toBeUndefined();
  });
});
