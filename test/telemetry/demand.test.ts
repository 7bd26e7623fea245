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

  it('a step from 20 to 100 records/s shows at the first lag read after it, and the rate holds there', () => {
    let now = 0;
    let offsets = 0;
    const demand = new DemandEstimator({ now: () => now });
    const readAfter = (seconds: number, rate: number) => {
      now += seconds * 1000;
      offsets += rate * seconds;
      demand.observeEndOffsets(offsets);
      return demand.arrivalRate!;
    };
    demand.observeEndOffsets(0);
    for (let i = 0; i < 6; i++) expect(readAfter(5, 20)).toBeCloseTo(20, 5);
    // The 15 s window's slope would be (20 × 10 + 100 × 5) / 15 = 47; the last interval says 100.
    expect(readAfter(5, 100)).toBeCloseTo(100, 5);
    expect(readAfter(5, 100)).toBeCloseTo(100, 5);
    expect(readAfter(5, 100)).toBeCloseTo(100, 5);
  });

  it('bursts of 50 once a second, read every 5 s at odd moments: the rate stays within 20 % of 50, no step seen', () => {
    let now = 0;
    const demand = new DemandEstimator({ now: () => now });
    const endAt = (ms: number) => 50 * (Math.floor(ms / 1000) + 1);
    const rates: number[] = [];
    for (let read = 0; read < 20; read++) {
      now = read * 5000 + ((read * 377) % 1000);
      demand.observeEndOffsets(endAt(now));
      if (read >= 2) rates.push(demand.arrivalRate!);
    }
    expect(Math.min(...rates)).toBeGreaterThanOrEqual(40);
    expect(Math.max(...rates)).toBeLessThanOrEqual(60);
  });

  it('with batches the unloaded latency is the fastest request of the largest batch, not a short batch that answered sooner', () => {
    let now = 0;
    const demand = new DemandEstimator({ now: () => now });
    // A GPU sink, 800 ms + 25 ms per item: when the load starts, batches of 1 and 3 answer first.
    const attempt = (records: number) => demand.onAttempt(record, { target: 'sink', durationMs: 800 + 25 * records, records, status: 200 });
    attempt(1);
    attempt(3);
    expect(demand.latencySeconds).toBeCloseTo(0.875, 5);
    now += 1000;
    for (let s = 0; s < 5; s++) {
      attempt(8);
      attempt(2);
      now += 1000;
    }
    expect(demand.latencySeconds, 'full batches of 8').toBeCloseTo(1, 5);
    // A second in which only a short batch went (the load paused) does not bring the latency down.
    attempt(1);
    now += 1000;
    expect(demand.latencySeconds).toBeCloseTo(1, 5);
    // Without `records`, as without batching, the fastest attempt of each second counts.
    const unbatched = new DemandEstimator({ now: () => now });
    unbatched.onAttempt(record, { target: 'sink', durationMs: 1000, status: 200 });
    unbatched.onAttempt(record, { target: 'sink', durationMs: 825, status: 200 });
    expect(unbatched.latencySeconds).toBeCloseTo(0.825, 5);
  });

  it('the unloaded latency follows a faster sink at once, and a slower one after the 30 s of windows it remembers', () => {
    let now = 0;
    const demand = new DemandEstimator({ now: () => now });
    const second = (ms: number) => {
      for (let i = 0; i < 5; i++) demand.onAttempt(record, { target: 'sink', durationMs: ms, status: 200 });
      now += 1000;
    };
    for (let s = 0; s < 5; s++) second(1000);
    second(400);
    expect(demand.latencySeconds).toBe(0.4);
    for (let s = 0; s < 29; s++) second(2000);
    expect(demand.latencySeconds).toBe(0.4);
    second(2000);
    second(2000);
    expect(demand.latencySeconds).toBe(2);
    expect(demand.recentLatencySeconds).toBe(2);
  });
});
