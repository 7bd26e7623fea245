import { describe, expect, it } from 'vitest';
import { AdaptiveConcurrency } from '../../src/dispatch/adaptive-concurrency.js';
import { SinkResponseError, SinkTransportError } from '../../src/errors.js';
import { rec } from '../helpers/records.js';

// The learned in-flight limit against a modelled sink: a fake clock, attempts reported as a sink
// with `capacity` slots would answer them (latency grows once the offered concurrency exceeds it).

const record = rec('t', 0, 0);

function harness(options: { min?: number; max?: number; initial?: number } = {}) {
  let now = 0;
  let inFlight = 0;
  const changes: number[] = [];
  const limiter = new AdaptiveConcurrency({
    min: options.min ?? 1,
    max: options.max ?? 1000,
    initial: options.initial ?? 4,
    inFlight: () => inFlight,
    onChange: (limit) => changes.push(limit),
    now: () => now,
  });
  /** One second of traffic at the current limit against a sink of `capacity` slots and `baseMs` latency. */
  const second = (capacity: number, baseMs = 100, overflowAt = Number.POSITIVE_INFINITY) => {
    const offered = limiter.limit;
    inFlight = offered;
    const latency = baseMs * Math.max(1, offered / capacity);
    const answers = Math.max(1, Math.round((offered * 1000) / latency));
    for (let i = 0; i < answers; i++) {
      now += 1000 / answers;
      if (offered > overflowAt && i % 10 === 0)
        limiter.onAttempt(record, {
          target: 'sink',
          durationMs: latency,
          status: 503,
          error: new SinkResponseError(503, Buffer.alloc(0), true),
        });
      else limiter.onAttempt(record, { target: 'sink', durationMs: latency, status: 200 });
    }
  };
  return { limiter, second, changes, setInFlight: (n: number) => (inFlight = n), advance: (ms: number) => (now += ms) };
}

describe('AdaptiveConcurrency', () => {
  it('grows while the sink answers in time, up to about what the sink serves without queueing', () => {
    const { limiter, second } = harness();
    for (let s = 0; s < 45; s++) second(50);
    // Within tolerance (2× the unloaded latency) the sink is not overloaded: 50 slots, at most ~2× offered.
    expect(limiter.limit).toBeGreaterThanOrEqual(40);
    expect(limiter.limit).toBeLessThanOrEqual(110);
  });

  it('follows the sink when its capacity steps up and back down, within a bounded time', () => {
    const { limiter, second } = harness();
    for (let s = 0; s < 40; s++) second(10);
    const small = limiter.limit;
    for (let s = 0; s < 45; s++) second(100);
    const large = limiter.limit;
    for (let s = 0; s < 30; s++) second(10, 100, 25);
    const back = limiter.limit;
    expect(small).toBeLessThanOrEqual(25);
    expect(large).toBeGreaterThan(80);
    expect(back).toBeLessThanOrEqual(30);
  });

  it('cuts by a tenth on an overload answer, once per window', () => {
    const { limiter, changes } = harness({ initial: 100 });
    for (let i = 0; i < 5; i++)
      limiter.onAttempt(record, { target: 'sink', durationMs: 5, status: 503, error: new SinkResponseError(503, Buffer.alloc(0), true) });
    expect(limiter.limit).toBe(90);
    expect(changes).toEqual([90]);
  });

  it('takes timeouts and refused connections as overload, a 500 not', () => {
    const { limiter } = harness({ initial: 100 });
    limiter.onAttempt(record, { target: 'sink', durationMs: 5, status: 500, error: new SinkResponseError(500, Buffer.alloc(0), true) });
    expect(limiter.limit).toBe(100);
    limiter.onAttempt(record, { target: 'sink', durationMs: 5, error: new SinkTransportError('timeout', { timedOut: true }) });
    expect(limiter.limit).toBe(90);
  });

  it('does not grow while the limit is not what holds requests back', () => {
    const { limiter, setInFlight, advance } = harness({ initial: 20 });
    for (let s = 0; s < 30; s++) {
      setInFlight(3);
      // Answers in time, but only 3 in flight: no reason to allow more.
      for (let i = 0; i < 30; i++) {
        advance(1000 / 30);
        limiter.onAttempt(record, { target: 'sink', durationMs: 100, status: 200 });
      }
    }
    expect(limiter.limit).toBe(20);
  });

  it('stays within its bounds', () => {
    const { limiter, second } = harness({ min: 5, max: 30, initial: 5 });
    for (let s = 0; s < 60; s++) second(1000);
    expect(limiter.limit).toBe(30);
    for (let i = 0; i < 100; i++) {
      limiter.onAttempt(record, { target: 'sink', durationMs: 5, status: 429, error: new SinkResponseError(429, Buffer.alloc(0), true) });
      second(1, 100, 0);
    }
    expect(limiter.limit).toBe(5);
  });

  it('latency alone never takes it below the demand; overload answers do', () => {
    let now = 0;
    const limiter = new AdaptiveConcurrency({ min: 1, max: 500, initial: 4, inFlight: () => 50, demand: () => 50, now: () => now });
    // A sink that queues everything (an activator holding requests for pods still starting).
    for (let i = 0; i < 50; i++) {
      now += 100;
      limiter.onAttempt(record, { target: 'sink', durationMs: 1000 + i * 200, status: 200 });
    }
    expect(limiter.limit).toBeGreaterThanOrEqual(50);
    for (let i = 0; i < 20; i++) {
      now += 1000;
      limiter.onAttempt(record, { target: 'sink', durationMs: 5, status: 503, error: new SinkResponseError(503, Buffer.alloc(0), true) });
    }
    expect(limiter.limit).toBeLessThan(50);
  });

  it('refuses bounds that are not', () => {
    expect(() => new AdaptiveConcurrency({ min: 0, max: 10, initial: 1, inFlight: () => 0 })).toThrow(/bounds/);
    expect(() => new AdaptiveConcurrency({ min: 5, max: 4, initial: 4, inFlight: () => 0 })).toThrow(/bounds/);
  });
});
