import { describe, expect, it } from 'vitest';
import { runPacer, type Clock } from '../../../tools/loadgen/pacer.js';
import { scheduleOf, type Shape } from '../../../tools/loadgen/shapes.js';

/** Virtual time: sleep moves the clock (plus `oversleepMs`, like a loaded machine's late timers). */
function fakeClock(oversleep: (n: number) => number = () => 0): Clock & { t: number } {
  let sleeps = 0;
  const clock = {
    t: 0,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.t += Math.max(0, ms) + oversleep(sleeps++);
    },
  };
  return clock;
}

async function run(shape: Shape, options: { oversleep?: (n: number) => number; maxBatch?: number; tickMs?: number } = {}) {
  const clock = fakeClock(options.oversleep);
  const schedule = scheduleOf(shape);
  const sends: Array<{ first: number; count: number; at: number }> = [];
  const result = await runPacer({
    schedule,
    clock,
    tickMs: options.tickMs,
    maxBatch: options.maxBatch,
    send: async (first, count) => {
      sends.push({ first, count, at: clock.now() });
    },
  });
  return { schedule, sends, result, clock };
}

/** Every message went out once, in order, never before its time and at most `slackMs` after it. */
function checkOnTime(schedule: ReturnType<typeof scheduleOf>, sends: Array<{ first: number; count: number; at: number }>, slackMs: number) {
  // Plain checks collected, one expect at the end: 50,000 expect calls would take seconds.
  const wrong: string[] = [];
  let next = 0;
  for (const send of sends) {
    if (send.first !== next) wrong.push(`request at ${send.at} starts at ${send.first}, not ${next}`);
    for (let i = send.first; i < send.first + send.count; i++) {
      const late = send.at - schedule.timeOf(i);
      if (late < 0 || late > slackMs) wrong.push(`message ${i} sent at ${send.at}, due at ${schedule.timeOf(i)}`);
    }
    next += send.count;
  }
  expect(wrong.slice(0, 5)).toEqual([]);
  expect(next).toBe(schedule.total);
}

describe('pacer (fake clock)', () => {
  it('the article burst: 100 requests of 50 at each whole second, exactly 5,000 messages', async () => {
    const { schedule, sends, result } = await run({ kind: 'burst', concurrency: 50, durationS: 100 });
    expect(sends).toHaveLength(100);
    expect(sends.every((s, k) => s.count === 50 && s.at === k * 1000)).toBe(true);
    expect(result).toMatchObject({ issued: 5000, elapsedMs: 100_000, maxLateMs: 0, aborted: false });
    checkOnTime(schedule, sends, 0);
  });

  it('5,000 msg/s: one request per 10 ms tick, never more than a tick late, the exact rate', async () => {
    const { schedule, sends, result } = await run({ kind: 'constant', rate: 5000, durationS: 10 });
    expect(result.issued).toBe(50_000);
    expect(sends.length).toBeLessThanOrEqual(1001);
    expect(Math.max(...sends.map((s) => s.count))).toBe(50);
    expect(result.elapsedMs).toBe(10_000);
    expect(result.issued / (result.elapsedMs / 1000)).toBe(5000);
    checkOnTime(schedule, sends, 10);
  });

  it('50 msg/s: one message per request, each on its 20 ms mark', async () => {
    const { schedule, sends, result } = await run({ kind: 'constant', rate: 50, durationS: 10 });
    expect(sends).toHaveLength(500);
    expect(sends.every((s, k) => s.count === 1 && s.at === k * 20)).toBe(true);
    expect(result.issued / (result.elapsedMs / 1000)).toBe(50);
    checkOnTime(schedule, sends, 0);
  });

  it('late timers do not accumulate: each wake-up is planned from the start', async () => {
    // Every sleep overshoots by 7 ms: a pacer that slept "interval" after each send would end 7 s late.
    const { schedule, sends, result, clock } = await run({ kind: 'constant', rate: 1000, durationS: 10 }, { oversleep: () => 7 });
    checkOnTime(schedule, sends, 10 + 7);
    expect(result.issued).toBe(10_000);
    expect(clock.t).toBeLessThanOrEqual(10_000 + 10 + 7);
    expect(result.maxLateMs).toBeLessThanOrEqual(17);
  });

  it('splits a large tick into requests of at most maxBatch', async () => {
    const { sends } = await run({ kind: 'burst', concurrency: 1200, durationS: 2 }, { maxBatch: 500 });
    expect(sends.map((s) => [s.at, s.count])).toEqual([
      [0, 500],
      [0, 500],
      [0, 200],
      [1000, 500],
      [1000, 500],
      [1000, 200],
    ]);
  });

  it('runs ramp and step shapes to their exact totals', async () => {
    const ramp = await run({ kind: 'ramp', from: 0, to: 500, durationS: 4 });
    expect(ramp.result.issued).toBe(1000);
    checkOnTime(ramp.schedule, ramp.sends, 10);
    const step = await run({
      kind: 'step',
      steps: [
        { rate: 50, durationS: 2 },
        { rate: 2000, durationS: 1 },
        { rate: 0, durationS: 1 },
        { rate: 50, durationS: 1 },
      ],
    });
    expect(step.result.issued).toBe(100 + 2000 + 50);
    expect(step.result.elapsedMs).toBe(5000);
    checkOnTime(step.schedule, step.sends, 10);
  });

  it('keeps at most maxInFlight requests unacknowledged; a failed request does not stop the load', async () => {
    const clock = fakeClock();
    const pending: Array<() => void> = [];
    let inFlight = 0;
    let maxSeen = 0;
    let calls = 0;
    const done = runPacer({
      schedule: scheduleOf({ kind: 'burst', concurrency: 10, durationS: 3 }),
      clock,
      maxBatch: 1,
      maxInFlight: 3,
      send: (first) =>
        new Promise<void>((resolve, reject) => {
          calls++;
          inFlight++;
          maxSeen = Math.max(maxSeen, inFlight);
          pending.push(() => {
            inFlight--;
            if (first % 2 === 0) reject(new Error('broker said no'));
            else resolve();
          });
        }),
    });
    // Acknowledge one request at a time until the pacer has issued all 30.
    while (calls < 30 || pending.length > 0) {
      await new Promise((r) => setImmediate(r));
      pending.shift()?.();
    }
    const result = await done;
    expect(result.issued).toBe(30);
    expect(maxSeen).toBe(3);
  });

  it('stops when aborted, having sent only what was due, and waits for the requests in flight', async () => {
    const clock = fakeClock();
    const abort = new AbortController();
    let acked = 0;
    const result = await runPacer({
      schedule: scheduleOf({ kind: 'constant', rate: 100, durationS: 100 }),
      clock,
      signal: abort.signal,
      send: async (_first, count) => {
        if (clock.t >= 2500) abort.abort();
        await Promise.resolve();
        acked += count;
      },
    });
    expect(result.aborted).toBe(true);
    expect(result.issued).toBe(251);
    expect(acked).toBe(251);
    expect(result.elapsedMs).toBe(2500);
  });
});
