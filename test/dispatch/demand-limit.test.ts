import { describe, expect, it } from 'vitest';
import { DemandLimit } from '../../src/dispatch/demand-limit.js';
import { SinkResponseError } from '../../src/errors.js';
import { rec } from '../helpers/records.js';

// The in-flight limit sized to demand on fixed inputs: steady, a step, a latency change, a backlog,
// a sink that queues, overload answers.

function harness(initial: Partial<{ rate: number; latency: number; recent: number; lag: number; share: number }> = {}) {
  const input = { rate: 50, latency: 1, recent: 1, lag: 0, share: 1, ...initial };
  let now = 0;
  const limit = new DemandLimit({
    min: 1,
    max: 256,
    initial: 4,
    arrivalRate: () => input.rate,
    latencySeconds: () => input.latency,
    recentLatencySeconds: () => input.recent,
    backlog: () => ({ lag: input.lag, share: input.share }),
    drainSeconds: 30,
    now: () => now,
  });
  const tick = (seconds = 1) => {
    now += seconds * 1000;
    limit.update();
    return limit.limit;
  };
  return { limit, input, tick, advance: (ms: number) => (now += ms) };
}

describe('DemandLimit', () => {
  it('steady: arrival rate × unloaded latency (50 records/s at 1 s: 50)', () => {
    const { tick } = harness();
    expect(tick()).toBe(50);
  });

  it('a step from 20 to 100 records/s follows at once', () => {
    const { input, tick } = harness({ rate: 20 });
    expect(tick()).toBe(20);
    input.rate = 100;
    expect(tick()).toBe(100);
  });

  it('a sink that gets faster needs fewer in flight', () => {
    const { input, tick } = harness();
    input.latency = 0.2;
    input.recent = 0.2;
    expect(tick()).toBe(10);
  });

  it('adds what drains a backlog in 30 s, while the sink keeps up; nothing while it queues', () => {
    const { input, tick } = harness({ lag: 3000 });
    expect(tick()).toBe(150); // 50 + 3000 / 30 × 1
    input.recent = 4; // pods still starting: requests wait in the activator
    expect(tick()).toBe(50);
  });

  it("takes this member's share of the partitions", () => {
    const { tick } = harness({ share: 0.25, lag: 1200 });
    expect(tick()).toBe(Math.ceil(0.25 * (50 + 40)));
  });

  it('cuts by a tenth on an overload answer, at most once a second, and recovers', () => {
    const { limit, tick, advance } = harness();
    tick();
    const overload = { target: 'sink' as const, durationMs: 5, status: 503, error: new SinkResponseError(503, Buffer.alloc(0), true) };
    limit.onAttempt(rec('t', 0, 0), overload);
    limit.onAttempt(rec('t', 0, 1), overload);
    expect(limit.limit).toBe(45);
    advance(1500);
    limit.onAttempt(rec('t', 0, 2), overload);
    expect(limit.limit).toBe(41);
    for (let s = 0; s < 30; s++) tick();
    expect(limit.limit).toBe(50);
  });

  it('stays at its start until the rate and the latency are known', () => {
    const { limit, input } = harness();
    input.rate = undefined as unknown as number;
    limit.update();
    expect(limit.limit).toBe(4);
  });
});
