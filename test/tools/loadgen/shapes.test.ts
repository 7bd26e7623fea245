import { describe, expect, it } from 'vitest';
import { describeShape, parseSteps, scheduleOf, type Shape } from '../../../tools/loadgen/shapes.js';

/** dueBy must count exactly the messages whose time is ≤ t, and be 0 before the start. */
function checkConsistent(shape: Shape) {
  const s = scheduleOf(shape);
  expect(s.dueBy(-1)).toBe(0);
  const wrong: string[] = [];
  let previous = -Infinity;
  for (let i = 0; i < s.total; i++) {
    const t = s.timeOf(i);
    if (t < previous || t >= s.durationMs || s.dueBy(t) < i + 1) wrong.push(`message ${i} at ${t}: dueBy ${s.dueBy(t)}`);
    previous = t;
  }
  expect(wrong.slice(0, 5)).toEqual([]);
  expect(s.dueBy(s.durationMs)).toBe(s.total);
  expect(s.dueBy(s.durationMs * 10)).toBe(s.total);
  return s;
}

describe('load shapes', () => {
  it('burst (the article): exactly C × T messages, C at each whole second', () => {
    const s = checkConsistent({ kind: 'burst', concurrency: 50, durationS: 100 });
    expect(s.total).toBe(5000);
    expect(s.durationMs).toBe(100_000);
    expect(s.dueBy(0)).toBe(50);
    expect(s.dueBy(999)).toBe(50);
    expect(s.dueBy(1000)).toBe(100);
    expect(s.dueBy(42_500)).toBe(43 * 50);
    expect(s.dueBy(99_000)).toBe(5000);
    expect(s.timeOf(49)).toBe(0);
    expect(s.timeOf(50)).toBe(1000);
    expect(s.timeOf(4999)).toBe(99_000);
  });

  it('constant: R × T messages spread evenly, message i at i/R s', () => {
    const s = checkConsistent({ kind: 'constant', rate: 200, durationS: 3 });
    expect(s.total).toBe(600);
    expect(s.dueBy(0)).toBe(1);
    expect(s.dueBy(4.99)).toBe(1);
    expect(s.dueBy(5)).toBe(2);
    expect(s.dueBy(1000)).toBe(201);
    expect(s.dueBy(2995)).toBe(600);
    expect(s.timeOf(599)).toBe(2995);
    expect(scheduleOf({ kind: 'constant', rate: 5000, durationS: 10 }).total).toBe(50_000);
    // Fractional rates: 0.5/s for 3 s sends at 0 and 2 s.
    const slow = checkConsistent({ kind: 'constant', rate: 0.5, durationS: 3 });
    expect(slow.total).toBe(2);
    expect(slow.timeOf(1)).toBe(2000);
  });

  it('ramp: the area under the rate line, message i where the area reaches i', () => {
    const up = checkConsistent({ kind: 'ramp', from: 0, to: 100, durationS: 10 });
    expect(up.total).toBe(500); // (0 + 100) / 2 × 10
    // N(t) = 5 t²: 5 by 1 s, 125 by 5 s.
    expect(up.dueBy(1000)).toBe(6);
    expect(up.dueBy(5000)).toBe(126);
    expect(up.timeOf(125)).toBeCloseTo(5000, 6);
    const down = checkConsistent({ kind: 'ramp', from: 100, to: 20, durationS: 4 });
    expect(down.total).toBe(240);
    expect(down.dueBy(2000)).toBe(Math.floor(100 * 2 - 10 * 4) + 1);
    const flat = checkConsistent({ kind: 'ramp', from: 30, to: 30, durationS: 2 });
    expect(flat.total).toBe(60);
    expect(flat.timeOf(30)).toBeCloseTo(1000, 9);
  });

  it('step: one constant load after the other', () => {
    const s = checkConsistent({
      kind: 'step',
      steps: [
        { rate: 50, durationS: 30 },
        { rate: 200, durationS: 30 },
        { rate: 50, durationS: 30 },
      ],
    });
    expect(s.total).toBe(50 * 30 + 200 * 30 + 50 * 30);
    expect(s.durationMs).toBe(90_000);
    expect(s.dueBy(29_999)).toBe(1500);
    expect(s.dueBy(30_000)).toBe(1501);
    expect(s.dueBy(60_000)).toBe(7501);
    expect(s.timeOf(1500)).toBe(30_000);
    expect(s.timeOf(7500)).toBe(60_000);
    // A pause in the middle sends nothing during it.
    const pause = checkConsistent({
      kind: 'step',
      steps: [
        { rate: 10, durationS: 1 },
        { rate: 0, durationS: 5 },
        { rate: 10, durationS: 1 },
      ],
    });
    expect(pause.total).toBe(20);
    expect(pause.dueBy(5999)).toBe(10);
    expect(pause.timeOf(10)).toBe(6000);
  });

  it('parses --steps and says what is wrong', () => {
    expect(parseSteps('50:30,200:30,50:30')).toEqual([
      { rate: 50, durationS: 30 },
      { rate: 200, durationS: 30 },
      { rate: 50, durationS: 30 },
    ]);
    expect(parseSteps('0.5:2')).toEqual([{ rate: 0.5, durationS: 2 }]);
    expect(parseSteps('50')).toMatch(/"50" is not rate:seconds/);
    expect(parseSteps('50:0')).toMatch(/seconds must be > 0/);
    expect(parseSteps('50:30,')).toMatch(/is not rate:seconds/);
  });

  it('describes each shape in one line', () => {
    expect(describeShape({ kind: 'burst', concurrency: 50, durationS: 100 })).toBe('burst: 50 messages at once every second for 100 s');
    expect(describeShape({ kind: 'step', steps: [{ rate: 1, durationS: 2 }] })).toBe('step: 1/s for 2 s');
  });
});
