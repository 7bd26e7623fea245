/** Axis arithmetic: "nice" tick steps (1, 2 or 5 times a power of ten) and tick labels. Pure functions. */

export interface NiceScale {
  /** Domain start, a multiple of step at or below the data minimum. */
  min: number;
  /** Domain end, a multiple of step at or above the data maximum. */
  max: number;
  step: number;
  /** min, min + step, ..., max. */
  ticks: number[];
}

/** The 1-2-5 step for a span cut into about `count` intervals. */
export function niceStep(span: number, count = 5): number {
  if (!Number.isFinite(span) || span <= 0) return 1;
  const rough = span / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const residual = rough / magnitude;
  const factor = residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 5 ? 5 : 10;
  return factor * magnitude;
}

/** The decimals a multiple of `step` needs to print exactly (0.2 → 1, 2.5 → 1, 0.05 → 2, 500 → 0). */
function decimalsOf(step: number): number {
  if (!Number.isFinite(step) || step <= 0) return 0;
  for (let d = 0; d < 12; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-9 * Math.max(1, scaled)) return d;
  }
  return 12;
}

function roundTo(value: number, decimals: number): number {
  const r = Number(value.toFixed(decimals));
  return Object.is(r, -0) ? 0 : r;
}

/**
 * The domain [min, max] widened to whole steps, with its ticks. An empty or degenerate range
 * (min === max, non-finite) becomes a one-step range so callers always get a usable scale.
 */
export function niceScale(min: number, max: number, count = 5): NiceScale {
  let lo = Number.isFinite(min) ? min : 0;
  let hi = Number.isFinite(max) ? max : lo;
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    if (lo === 0) hi = 1;
    else if (lo > 0) lo = 0;
    else hi = 0;
  }
  const step = niceStep(hi - lo, count);
  const decimals = decimalsOf(step);
  const start = roundTo(Math.floor(lo / step + 1e-9) * step, decimals);
  const end = roundTo(Math.ceil(hi / step - 1e-9) * step, decimals);
  const ticks: number[] = [];
  const n = Math.round((end - start) / step);
  for (let i = 0; i <= n; i++) ticks.push(roundTo(start + i * step, decimals));
  return { min: start, max: end, step, ticks };
}

/** Ticks inside [min, max] (not widened): for a time axis that should end where the data ends. */
export function niceTicksWithin(min: number, max: number, count = 8): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max) || max <= min) return Number.isFinite(min) ? [min] : [];
  const step = niceStep(max - min, count);
  const decimals = decimalsOf(step);
  const ticks: number[] = [];
  const first = Math.ceil(min / step - 1e-9);
  const last = Math.floor(max / step + 1e-9);
  for (let i = first; i <= last; i++) ticks.push(roundTo(i * step, decimals));
  return ticks;
}

/** A tick label: thousands as k, millions as M; decimals only as many as the step needs. */
export function formatTick(value: number, step: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6 && step >= 1e5) return `${trim(value / 1e6, step / 1e6)}M`;
  if (abs >= 1e4 && step >= 1e3) return `${trim(value / 1e3, step / 1e3)}k`;
  return trim(value, step);
}

function trim(value: number, step: number): string {
  return roundTo(value, decimalsOf(step)).toFixed(decimalsOf(step));
}
