import { describe, expect, it } from 'vitest';
import { backlogDrainRate, DemandLimit } from '../../src/dispatch/demand-limit.js';
import { SinkResponseError } from '../../src/errors.js';
import { rec } from '../helpers/records.js';

// The in-flight limit sized to demand on fixed inputs: steady, a step, a latency change, a backlog
// (with and without arrivals), a sink that queues or falls behind, a fast sink, overload answers.

function harness(
  initial: Partial<{ rate: number | undefined; latency: number; recent: number | undefined; inFlight: number }> = {},
  batchRecords?: number,
) {
  const input = { rate: 50 as number | undefined, latency: 1, recent: 1 as number | undefined, inFlight: 0, ...initial };
  let now = 0;
  const limit = new DemandLimit({
    min: 1,
    max: 256,
    initial: 4,
    arrivalRate: () => input.rate,
    latencySeconds: () => input.latency,
    recentLatencySeconds: () => input.recent,
    inFlight: () => input.inFlight,
    drainSeconds: 30,
    ...(batchRecords !== undefined ? { batchRecords } : {}),
    now: () => now,
  });
  const tick = (seconds = 1) => {
    now += seconds * 1000;
    limit.update();
    return limit.limit;
  };
  /** A lag read `seconds` after the last one. */
  const lagRead = (lag: number, seconds = 5, share = 1) => {
    now += seconds * 1000;
    limit.lagRead(lag, share);
    return limit.limit;
  };
  return { limit, input, tick, lagRead, advance: (ms: number) => (now += ms) };
}

describe('DemandLimit', () => {
  it('with batches of 8 the limit is whole batches, one more than the demand: 50 records/s at 1 s a batch is 7 batches + 1, 64', () => {
    const { input, tick } = harness({}, 8);
    // 50 in flight would be 6 full batches and a partial one that waits BATCH_MAX_WAIT and goes short.
    expect(tick()).toBe(64);
    input.rate = 48;
    expect(tick(), 'exactly 6 batches wanted: 6 + the one being filled').toBe(56);
    input.rate = 1;
    expect(tick(), 'one record a second still gets a batch to fill and one in flight').toBe(16);
  });

  it('batchRecords must be a whole number of at least 1', () => {
    const options = { min: 1, max: 256, initial: 4, arrivalRate: () => 1, latencySeconds: () => 1 };
    expect(() => new DemandLimit({ ...options, batchRecords: 0 })).toThrow(
      'demand limit: batchRecords must be a whole number of at least 1, got 0',
    );
    expect(() => new DemandLimit({ ...options, batchRecords: 2.5 })).toThrow(/got 2\.5/);
  });

  it('batches never push the limit past MAX_IN_FLIGHT', () => {
    const { input, tick } = harness({ rate: 1000 }, 8);
    expect(tick()).toBe(256);
    input.rate = 250;
    expect(tick(), '250 wanted: 32 batches + 1 is 264, held at 256').toBe(256);
  });

  it('steady: arrival rate × unloaded latency (50 records/s at 1 s: 50)', () => {
    const { tick, lagRead } = harness();
    expect(tick()).toBe(50);
    expect(lagRead(50)).toBe(50); // the lag is what is in flight: no backlog
  });

  it('a step from 20 to 100 records/s follows at once', () => {
    const { input, tick } = harness({ rate: 20 });
    expect(tick()).toBe(20);
    input.rate = 100;
    expect(tick()).toBe(100);
  });

  it('a sink that gets faster needs fewer in flight, down to the 50 ms floor', () => {
    const { input, tick } = harness();
    input.latency = input.recent = 0.2;
    expect(tick()).toBe(10);
    // 2 ms measured is mostly the dispatcher's own scheduling: sized as 50 ms, not starved at 1.
    input.latency = input.recent = 0.002;
    expect(tick()).toBe(Math.ceil(50 * 0.05));
  });

  it('while records arrive, a backlog drains at most 15 % faster than they arrive', () => {
    const { lagRead } = harness();
    lagRead(1050);
    // 1000 waiting / 30 s = 33 records/s would start pods the live load never needs: 50 × 0.15 = 7.5 more.
    expect(lagRead(1050)).toBe(58);
  });

  it('with nothing arriving, a backlog drains within 30 s at the pace it started with, not ever slower', () => {
    const { input, lagRead } = harness({ rate: 0 });
    expect(lagRead(3000)).toBe(100); // 3000 / 30 s × 1 s
    // Half drained: the pace holds (a pace that followed the lag would halve, and never finish).
    expect(lagRead(1500)).toBe(100);
    expect(lagRead(101)).toBe(100);
    // All of it in flight: the backlog is gone, and with it the pace.
    expect(lagRead(90)).toBe(3);
    input.rate = 50;
    expect(lagRead(50)).toBe(50);
  });

  it('a backlog that would take more than ten drain periods (5 min) at the paced speed drains at full speed', () => {
    expect(backlogDrainRate(1000, 50, 30, 0.1)).toBe(5);
    expect(backlogDrainRate(1500, 50, 30, 0.1)).toBe(5); // 300 s at 5/s: still paced
    expect(backlogDrainRate(1600, 50, 30, 0.1)).toBeCloseTo(1600 / 30, 5);
    expect(backlogDrainRate(3000, 0, 30, 0.1)).toBe(100);
    expect(backlogDrainRate(1000, 50, 30, 1)).toBeCloseTo(1000 / 30, 5);
  });

  it('adds nothing for the backlog while the sink queues, falls behind, or has not answered for a second', () => {
    const { input, lagRead } = harness({ recent: 4 }); // pods starting: requests wait in the activator
    lagRead(100);
    expect(lagRead(600)).toBe(50);
    input.recent = 1;
    // The lag grew by 500 in 5 s = 100/s, more than ¾ of the 50 arriving: the sink is behind.
    expect(lagRead(1100)).toBe(50);
    input.recent = undefined;
    expect(lagRead(1100)).toBe(50);
    input.recent = 1;
    expect(lagRead(1100)).toBe(58);
  });

  it("takes this member's share of the partitions", () => {
    const { lagRead } = harness();
    lagRead(1200, 5, 0.25);
    expect(lagRead(1200, 5, 0.25)).toBe(Math.ceil(0.25 * (50 + 7.5)));
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

  it('grows while it holds records back from an unqueued sink that carries far fewer attempts than wanted (hangs, timeouts), and shrinks back after', () => {
    const { limit, input, tick } = harness({ rate: 100, latency: 0.2, recent: 0.2 });
    const ok = { target: 'sink' as const, durationMs: 200, status: 200 };
    const carry = (attempts: number) => {
      for (let i = 0; i < attempts; i++) limit.onAttempt(rec('t', 0, i), ok);
      input.inFlight = limit.limit;
      return tick();
    };
    expect(tick()).toBe(20); // 100/s × 0.2 s
    // Half the slots hang: 50 attempts a second of the 100 wanted. Two seconds of it may be pods
    // just ready; the third counts.
    expect([carry(50), carry(50)]).toEqual([20, 20]);
    const grown = [carry(50), carry(50), carry(50)];
    expect(grown[0]).toBe(25);
    expect(grown[2]).toBeGreaterThan(grown[1]!);
    // Carrying what is wanted: it stays.
    expect(carry(100)).toBe(grown[2]);
    // No longer holding anything back: back towards the demand.
    input.inFlight = 0;
    for (let s = 0; s < 30; s++) tick();
    expect(limit.limit).toBe(20);
  });

  it('does not grow so while the sink queues (a cold start: the pods are starting)', () => {
    const { limit, input, tick } = harness({ rate: 100, latency: 0.2, recent: 0.3 });
    tick();
    for (let s = 0; s < 5; s++) {
      for (let i = 0; i < 10; i++) limit.onAttempt(rec('t', 0, i), { target: 'sink', durationMs: 300, status: 200 });
      input.inFlight = limit.limit;
      tick();
    }
    expect(limit.limit).toBe(20);
  });

  it('overload answers cut it to half the demand at most', () => {
    const { limit, advance } = harness();
    limit.update();
    const overload = { target: 'sink' as const, durationMs: 5, status: 503, error: new SinkResponseError(503, Buffer.alloc(0), true) };
    for (let i = 0; i < 20; i++) {
      advance(1100);
      limit.onAttempt(rec('t', 0, i), overload);
    }
    expect(limit.limit).toBe(25);
  });

  it('stays at its start until the rate and the latency are known', () => {
    const { limit, input } = harness();
    input.rate = undefined;
    limit.update();
    expect(limit.limit).toBe(4);
  });
});
