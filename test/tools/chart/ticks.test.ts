import { describe, it, expect } from 'vitest';
import { formatTick, niceScale, niceStep, niceTicksWithin } from '../../../tools/chart/ticks.js';

describe('niceStep', () => {
  it.each<[span: number, count: number, step: number]>([
    [10, 5, 2],
    [100, 5, 20],
    [1, 5, 0.2],
    [7, 5, 2],
    [3, 5, 1],
    [37, 5, 10],
    [1000, 4, 500],
    [120, 8, 20],
    [0.05, 5, 0.01],
    [12_345, 5, 5000],
    [0, 5, 1],
    [-3, 5, 1],
    [Number.NaN, 5, 1],
  ])('span %d in about %d steps → %d', (span, count, step) => {
    expect(niceStep(span, count)).toBeCloseTo(step, 12);
  });

  it('is always 1, 2 or 5 times a power of ten', () => {
    for (let span = 0.001; span < 1e7; span *= 1.37) {
      const step = niceStep(span, 5);
      const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
      expect(
        [1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-9),
        `span ${span} → ${step}`,
      ).toBe(true);
    }
  });
});

describe('niceScale', () => {
  it.each<[min: number, max: number, expected: { min: number; max: number; step: number; ticks: number[] }]>([
    [0, 10, { min: 0, max: 10, step: 2, ticks: [0, 2, 4, 6, 8, 10] }],
    [0, 9.3, { min: 0, max: 10, step: 2, ticks: [0, 2, 4, 6, 8, 10] }],
    [0, 437, { min: 0, max: 500, step: 100, ticks: [0, 100, 200, 300, 400, 500] }],
    [0, 1, { min: 0, max: 1, step: 0.2, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] }],
    [0, 0.3, { min: 0, max: 0.3, step: 0.1, ticks: [0, 0.1, 0.2, 0.3] }],
    [0, 0.09, { min: 0, max: 0.1, step: 0.02, ticks: [0, 0.02, 0.04, 0.06, 0.08, 0.1] }],
    [3, 17, { min: 0, max: 20, step: 5, ticks: [0, 5, 10, 15, 20] }],
    [21, 29, { min: 20, max: 30, step: 2, ticks: [20, 22, 24, 26, 28, 30] }],
    [-7, 12, { min: -10, max: 15, step: 5, ticks: [-10, -5, 0, 5, 10, 15] }],
    // Degenerate ranges still give a usable scale.
    [0, 0, { min: 0, max: 1, step: 0.2, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] }],
    [5, 5, { min: 0, max: 5, step: 1, ticks: [0, 1, 2, 3, 4, 5] }],
    [10, 0, { min: 0, max: 10, step: 2, ticks: [0, 2, 4, 6, 8, 10] }],
  ])('[%d, %d]', (min, max, expected) => {
    expect(niceScale(min, max, 5)).toEqual(expected);
  });

  it('covers the data and its ends are ticks', () => {
    for (let max = 0.7; max < 1e6; max *= 2.3) {
      const scale = niceScale(0, max);
      expect(scale.min).toBe(0);
      expect(scale.max).toBeGreaterThanOrEqual(max);
      expect(scale.ticks[0]).toBe(scale.min);
      expect(scale.ticks.at(-1)).toBe(scale.max);
      expect(scale.ticks.length).toBeGreaterThanOrEqual(3);
      expect(scale.ticks.length).toBeLessThanOrEqual(11);
    }
  });
});

describe('niceTicksWithin', () => {
  it.each<[min: number, max: number, ticks: number[]]>([
    [0, 119, [0, 20, 40, 60, 80, 100]],
    [0, 10, [0, 2, 4, 6, 8, 10]],
    [3, 9, [3, 4, 5, 6, 7, 8, 9]],
    [5, 6, [5, 5.2, 5.4, 5.6, 5.8, 6]],
    [7, 7, [7]],
  ])('[%d, %d] in about 6 steps', (min, max, ticks) => {
    expect(niceTicksWithin(min, max, 6)).toEqual(ticks);
  });
});

describe('formatTick', () => {
  it.each<[value: number, step: number, label: string]>([
    [0, 1, '0'],
    [0.2, 0.2, '0.2'],
    [0.1 + 0.2, 0.1, '0.3'],
    [1, 0.5, '1.0'],
    [2000, 500, '2000'],
    [20_000, 5000, '20k'],
    [12_500, 2500, '12.5k'],
    [3_000_000, 1_000_000, '3M'],
    [-10, 5, '-10'],
  ])('%d with step %d → %s', (value, step, label) => {
    expect(formatTick(value, step)).toBe(label);
  });
});
