import { describe, expect, it } from 'vitest';
import { WindowedAverage } from '../../../tools/knative/aggregation.js';
import {
  applyBounds,
  decide,
  deciderSpec,
  PodAutoscaler,
  resolveKpaConfig,
  type DeciderSpec,
  type PanicState,
} from '../../../tools/knative/kpa.js';

/**
 * The spec of knative.dev/serving `pkg/autoscaler/scaling/autoscaler_test.go`
 * (`newTestAutoscalerWithScalingMetric`): 75 % utilization, rates 10, panic threshold 2, 60 s window.
 */
const knativeTestSpec = (targetValue: number, targetBurstCapacity: number, more: Partial<DeciderSpec> = {}): DeciderSpec => ({
  targetValue,
  totalValue: targetValue / 0.75,
  targetBurstCapacity,
  panicThreshold: 2,
  maxScaleUpRate: 10,
  maxScaleDownRate: 10,
  stableWindowMs: 60_000,
  reachable: true,
  ...more,
});
/** `expectedEBC` in autoscaler_test.go. */
const expectedEBC = (totCap: number, targetBC: number, recorded: number, pods: number) =>
  Math.floor((totCap / 0.75) * pods - targetBC - recorded);
const calm: PanicState = { panicTimeMs: null, maxPanicPods: 0 };
const NOW = 1_000_000;

describe('decide: TestAutoscalerScale (autoscaler_test.go)', () => {
  it.each([
    // label, target, TBC, stable, panic, ready, extra spec, prior state, want pods, want EBC
    ['StableModeUnlimitedTBC', 181, -1, 21, 26, 1, {}, calm, 1, -1],
    ['0TBC', 10, 0, 50, 49, 1, {}, calm, 5, 0],
    ['StableModeNoChange', 10, 100, 50, 50, 1, {}, calm, 5, expectedEBC(10, 100, 50, 1)],
    ['PanicStableLargerThanPanic', 1, 100, 50, 30, 5, {}, { panicTimeMs: NOW - 5000, maxPanicPods: 5 }, 50, expectedEBC(1, 100, 30, 5)],
    ['PanicStableLessThanPanic', 1, 100, 20, 30, 5, {}, { panicTimeMs: NOW - 5000, maxPanicPods: 5 }, 30, expectedEBC(1, 100, 30, 5)],
    ['StableModeNoChangeAlreadyScaled', 10, 100, 50, 50, 5, {}, calm, 5, expectedEBC(10, 100, 50, 5)],
    ['StableModeIncreaseWithSmallScaleUpRate', 1, 1982, 3, 3.1, 2, { maxScaleUpRate: 1.1 }, calm, 3, expectedEBC(1, 1982, 3.1, 2)],
    ['StableModeDecreaseWithSmallScaleDownRate', 10, 1982, 1, 1, 100, { maxScaleDownRate: 1.1 }, calm, 90, expectedEBC(10, 1982, 1, 100)],
    [
      'StableModeDecreaseNonReachable',
      10,
      1982,
      1,
      1,
      100,
      { maxScaleDownRate: 1.1, reachable: false },
      calm,
      1,
      expectedEBC(10, 1982, 1, 100),
    ],
    ['PanicModeDoublePodCount', 10, 84, 50, 100, 1, {}, calm, 10, expectedEBC(10, 84, 100, 1)],
    // TestAutoscalerUseOnePodAsMinimumIfEndpointsNotFound: 0 ready counts as 1 for the rate limit.
    ['UseOnePodAsMinimumIfEndpointsNotFound', 10, 81, 1000, 888, 0, {}, calm, 10, expectedEBC(10, 81, 888, 0)],
  ] as const)('%s', (_label, target, tbc, stable, panic, ready, more, state, wantPods, wantEbc) => {
    const d = decide(knativeTestSpec(target, tbc, more), state, { stable, panic }, ready, NOW);
    expect(d.desiredPodCount).toBe(wantPods);
    expect(d.excessBurstCapacity).toBe(wantEbc);
  });
});

describe('decide: sequences from autoscaler_test.go', () => {
  it('TestAutoscalerRateLimitScaleUp and ScaleDown: ×10 and ÷10 per tick', () => {
    const spec = knativeTestSpec(10, 61);
    expect(decide(spec, calm, { stable: 1000, panic: 1001 }, 1, NOW).desiredPodCount).toBe(10);
    expect(decide(spec, calm, { stable: 1000, panic: 1001 }, 10, NOW).desiredPodCount).toBe(100);
    expect(decide(spec, calm, { stable: 1, panic: 1 }, 100, NOW).desiredPodCount).toBe(10);
    expect(decide(spec, calm, { stable: 1, panic: 1 }, 10, NOW).desiredPodCount).toBe(1);
  });

  it('TestAutoscalerPanicThenUnPanicScaleDown: no scale-down in panic, down after the stable window', () => {
    const spec = knativeTestSpec(10, 93);
    let d = decide(spec, calm, { stable: 100, panic: 100 }, 1, NOW);
    expect(d.desiredPodCount).toBe(10);
    const panicTime = NOW + 1000;
    d = decide(spec, d.state, { stable: 100, panic: 1000 }, 10, panicTime);
    expect([d.desiredPodCount, d.inPanic]).toEqual([100, true]);
    d = decide(spec, d.state, { stable: 1, panic: 1 }, 10, panicTime + 30_000);
    expect([d.desiredPodCount, d.inPanic]).toEqual([100, true]);
    d = decide(spec, d.state, { stable: 1, panic: 1 }, 10, panicTime + 61_000);
    expect([d.desiredPodCount, d.inPanic]).toEqual([1, false]);
  });

  it('TestAutoscalerUnpanicAfterSlowIncrease: panic time does not move below the threshold, ends after 60 s', () => {
    const spec = knativeTestSpec(1, 98);
    let d = decide(spec, calm, { stable: 11, panic: 25 }, 10, NOW);
    expect(d.desiredPodCount).toBe(25);
    expect(d.state.panicTimeMs).toBe(NOW);
    d = decide(spec, d.state, { stable: 30, panic: 41 }, 40, NOW + 30_000);
    expect(d.desiredPodCount).toBe(41);
    expect(d.state.panicTimeMs).toBe(NOW);
    d = decide(spec, d.state, { stable: 50, panic: 56 }, 55, NOW + 62_000);
    expect([d.desiredPodCount, d.inPanic]).toEqual([50, false]);
  });

  it('TestAutoscalerExtendPanicWindow: still over the threshold moves the panic time', () => {
    const spec = knativeTestSpec(1, 98);
    let d = decide(spec, calm, { stable: 11, panic: 25 }, 10, NOW);
    d = decide(spec, d.state, { stable: 30, panic: 80 }, 40, NOW + 30_000);
    expect(d.desiredPodCount).toBe(80);
    expect(d.state.panicTimeMs).toBe(NOW + 30_000);
  });

  it('TestAutoscalerPanicModeExponentialTrackAndStabilize', () => {
    const spec = knativeTestSpec(1, 101);
    let d = decide(spec, calm, { stable: 6, panic: 6 }, 1, NOW);
    expect(d.desiredPodCount).toBe(6);
    d = decide(spec, d.state, { stable: 36, panic: 36 }, 6, NOW);
    expect(d.desiredPodCount).toBe(36);
    d = decide(spec, d.state, { stable: 216, panic: 216 }, 36, NOW + 1000);
    expect(d.desiredPodCount).toBe(216);
    d = decide(spec, d.state, { stable: 1296, panic: 1296 }, 216, NOW + 1000);
    expect(d.desiredPodCount).toBe(1296);
    d = decide(spec, d.state, { stable: 1296, panic: 1296 }, 1296, NOW + 2000);
    expect(d.desiredPodCount).toBe(1296);
  });
});

describe('Knative defaults', () => {
  it('target = max(1, cc × 0.7); total = cc, or 100 when cc is 0; annotation target capped by cc', () => {
    expect(deciderSpec(resolveKpaConfig({ containerConcurrency: 2 }))).toMatchObject({
      targetValue: 1.4,
      totalValue: 2,
      panicThreshold: 2,
    });
    expect(deciderSpec(resolveKpaConfig({ containerConcurrency: 1 })).targetValue).toBe(1);
    expect(deciderSpec(resolveKpaConfig({ containerConcurrency: 0 })).targetValue).toBeCloseTo(70);
    expect(deciderSpec(resolveKpaConfig({ containerConcurrency: 10, target: 50 })).totalValue).toBe(10);
    expect(resolveKpaConfig({ containerConcurrency: 2 })).toMatchObject({
      stableWindowMs: 60_000,
      panicWindowPercentage: 10,
      maxScaleUpRate: 1000,
      maxScaleDownRate: 2,
      scaleToZeroGracePeriodMs: 30_000,
      targetBurstCapacity: 200,
    });
  });

  it('applyBounds: min, and max unless 0', () => {
    expect([applyBounds(1, 0, 0), applyBounds(0, 100, 183), applyBounds(0, 0, 183), applyBounds(2, 5, 3)]).toEqual([1, 100, 183, 3]);
  });
});

/**
 * Feed `concurrency` once per second for `seconds`, deciding every 2 s like the autoscaler's tick;
 * `follow` makes the ready count follow each decision at once (pods that start instantly).
 */
function run(pa: PodAutoscaler, fromS: number, seconds: number, concurrency: number, ready: { n: number }, follow = false) {
  const out = [];
  for (let s = fromS; s < fromS + seconds; s++) {
    pa.record(s * 1000, concurrency);
    if (s % 2 === 0) {
      const r = pa.scale(s * 1000, ready.n);
      if (follow) ready.n = r.desiredPods;
      out.push({ t: s, ...r });
    }
  }
  return out;
}

describe('PodAutoscaler (the article: BERT behind Knative, containerConcurrency 2)', () => {
  it('256 in flight on 1 ready pod: panic, desired ceil(256/1.4) = 183 capped at maxScale 100', () => {
    const pa = new PodAutoscaler({ containerConcurrency: 2, maxScale: 100 }, { readyPods: 1 });
    pa.record(0, 256);
    const r = pa.scale(0, 1);
    expect(r).toMatchObject({ desiredPods: 100, inPanic: true, panicConcurrency: 256, valid: true });
    expect(r.excessBurstCapacity).toBe(Math.floor(1 * 2 - 200 - 256));
  });

  it('50 in flight, steady: ceil(50/1.4) = 36 pods, no panic', () => {
    const ready = { n: 36 };
    const pa = new PodAutoscaler({ containerConcurrency: 2 }, { readyPods: ready.n });
    const out = run(pa, 0, 120, 50, ready, true);
    expect(out.at(-1)).toMatchObject({ desiredPods: 36, inPanic: false, stableConcurrency: 50 });
  });

  it('scales up from 1 through panic, holds during the stable window, then to zero after stable window + grace', () => {
    const ready = { n: 1 };
    const pa = new PodAutoscaler({ containerConcurrency: 2 }, { readyPods: 1 });
    const up = run(pa, 0, 20, 20, ready);
    expect(up[0]).toMatchObject({ desiredPods: 15, inPanic: true });
    ready.n = 15;
    const steady = run(pa, 20, 80, 20, ready, true);
    expect(steady.at(-1)).toMatchObject({ desiredPods: 15, inPanic: false });
    // Load stops at 100 s: the stable average decays, the count falls (at most ÷2 per tick) …
    const down = run(pa, 100, 120, 0, ready, true);
    const at = (t: number) => down.find((d) => d.t === t)!;
    expect(at(130).desiredPods).toBeGreaterThan(0);
    expect(at(130).desiredPods).toBeLessThan(15);
    // … while stable > 0 the desired count is ≥ 1; zero only ≥ 60 s (window) + 30 s (grace) after the load.
    const firstZero = down.find((d) => d.desiredPods === 0)!;
    expect(firstZero.t).toBeGreaterThanOrEqual(190);
    expect(firstZero.t).toBeLessThanOrEqual(196);
  });

  it('from zero: the first traffic asks for a pod at once; 0 ready counts as 1 for the panic test', () => {
    const pa = new PodAutoscaler({ containerConcurrency: 2 }, { readyPods: 0 });
    const idle = run(pa, 0, 120, 0, { n: 0 }, true);
    expect(idle.every((d) => d.desiredPods === 0)).toBe(true);
    pa.record(120_000, 3);
    // The windows still hold the idle seconds' zeros: stable 3/60, panic 3/6, so one pod to start with …
    expect(pa.scale(120_000, 0)).toMatchObject({ desiredPods: 1, inPanic: false, stableConcurrency: 0.05, panicConcurrency: 0.5 });
    // … and, the 3 requests still waiting, more as the panic window fills: 3 × 2 s of 3 → 1.5 → 2 pods.
    pa.record(121_000, 3);
    pa.record(122_000, 3);
    expect(pa.scale(122_000, 0)).toMatchObject({ desiredPods: 2, inPanic: true });
  });

  it('from zero after a window without data (no pod to scrape): the first stat is the whole window', () => {
    const pa = new PodAutoscaler({ containerConcurrency: 2 }, { readyPods: 0 });
    pa.record(0, 0);
    expect(pa.scale(120_000, 0)).toMatchObject({ desiredPods: 0, valid: false });
    pa.record(121_000, 3);
    expect(pa.scale(121_000, 0)).toMatchObject({ desiredPods: 3, inPanic: true, stableConcurrency: 3, panicConcurrency: 3 });
  });

  it('minScale 1 keeps a pod; no data for a whole window is not a decision', () => {
    const pa = new PodAutoscaler({ containerConcurrency: 2, minScale: 1 }, { readyPods: 1 });
    expect(pa.scale(0, 1).valid).toBe(false);
    const out = run(pa, 0, 200, 0, { n: 1 }, true);
    expect(out.every((d) => d.desiredPods === 1)).toBe(true);
  });
});

describe('WindowedAverage (aggregation/bucketing.go)', () => {
  it('averages over the buckets written so far, then over the whole window', () => {
    const w = new WindowedAverage(6000);
    w.record(0, 6);
    w.record(1000, 12);
    expect(w.average(1000)).toBe(9);
    for (let s = 2; s < 10; s++) w.record(s * 1000, 12);
    expect(w.average(9000)).toBe(12);
  });

  it('values in one bucket add up; stale buckets drop out; empty after a window', () => {
    const w = new WindowedAverage(6000);
    w.record(0, 1);
    w.record(500, 2);
    expect(w.average(900)).toBe(3);
    w.record(1000, 3);
    // 2 s later with no writes: the buckets after the last write count as gone.
    expect(w.average(3000)).toBe(3);
    expect(w.isEmpty(3000)).toBe(false);
    expect(w.isEmpty(8000)).toBe(true);
    expect(w.average(8000)).toBe(0);
  });
});
