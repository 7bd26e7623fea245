import { describe, expect, it } from 'vitest';
import { createLogger, DEFAULTS } from '../../src/index.js';
import { simulate } from '../../tools/simulate/run.js';
import { meanRate, podsNeeded, PRESETS, scenarioPodsNeeded, type Scenario } from '../../tools/simulate/scenario.js';
import { brokers } from '../helpers/kafka.js';

// The article's verification on one machine (issue 10): the real broker and dispatcher against the
// emulated Knative Service, on a clock ten times compressed. Figures are in scenario time.

const logger = createLogger({ level: 'error', format: 'json' });
const run = (scenario: Scenario) => simulate(scenario, { brokers: brokers(), logger });

describe("simulate: the article's scenario end to end", () => {
  it('key mode with the defaults (in-flight sized to demand): at most 43 pods (1.2 × the 36 needed), at most 5,700 pod-seconds, lag 0 within 15 s after the load; the pods settle within ±20 % of rate × latency ÷ (0.7 × containerConcurrency); nothing lost, 503s below 1 %', async () => {
    // Speed 5, not 10: on two shared cores a 50 ms hiccup would be half a scenario second at 10.
    const scenario = { ...PRESETS.article!, ordering: 'key' as const, tailS: 45, speed: 5 };
    expect(scenario.concurrencyLimit, "the article preset runs the dispatcher's default").toBe(DEFAULTS.concurrencyLimit);
    const { summary, timeline } = await run(scenario);
    expect(summary.peakPods, 'pods peak (256 in flight: maxScale, 100)').toBeLessThanOrEqual(43);
    expect(summary.podSeconds, 'pod-seconds from the start of the load to 45 s after it (256 in flight: over 8,000)').toBeLessThanOrEqual(
      5700,
    );
    expect(summary.lagZeroAfterS, 'seconds after the load until lag 0').toBeLessThanOrEqual(15);
    const needed = podsNeeded(meanRate(scenario.load), scenario.latencyMs, scenario.containerConcurrency);
    expect(summary.podsAtLoadEnd, `pods over the load's last 10 s (the load needs ${needed.toFixed(1)})`).toBeGreaterThanOrEqual(
      needed * 0.8,
    );
    expect(summary.podsAtLoadEnd).toBeLessThanOrEqual(needed * 1.2);
    expect(summary.lagZeroAfterS, 'seconds after the load until lag 0').toBeDefined();
    expect(timeline.rows.at(-1)!.lag).toBe(0);
    expect(summary.produced).toBe(5000);
    expect(summary.delivered, 'records the dispatcher delivered').toBe(5000);
    expect(summary.served).toBeGreaterThanOrEqual(5000);
    expect(summary.deadLettered + summary.skipped).toBe(0);
    expect(summary.rejectedShare).toBeLessThan(0.01);
  }, 180_000);

  it('ordered mode with P partitions: the sink never holds more than P requests, and the pods stay far below what the load needs', async () => {
    const scenario: Scenario = {
      ...PRESETS.article!,
      ordering: 'ordered',
      partitions: 6,
      load: { kind: 'burst', concurrency: 50, durationS: 40 },
      tailS: 5,
    };
    const { summary, timeline } = await run(scenario);
    expect(summary.peakSinkConcurrency).toBeLessThanOrEqual(6);
    expect(Math.max(...timeline.rows.map((r) => r.inFlight))).toBeLessThanOrEqual(6);
    // One request per partition at 1 s each: 6 records/s against 50 arriving; the lag only grows.
    expect(timeline.rows.at(-1)!.lag).toBeGreaterThan(1000);
    expect(summary.peakPods).toBeLessThanOrEqual(6);
  }, 180_000);

  it('scale from zero with a cold start (60 s) longer than the request timeout (30 s): nothing dead-lettered or skipped, all delivered', async () => {
    const { summary } = await run(PRESETS['scale-from-zero']!);
    expect(summary.produced).toBe(600);
    expect(summary.skipped).toBe(0);
    expect(summary.deadLettered).toBe(0);
    expect(summary.delivered).toBe(600);
  }, 180_000);

  it('adaptive concurrency against a sink of fixed capacity without the activator: it backs off before the queue-proxies overflow (503s below 3 %), where 256 in flight overflows them', async () => {
    // 5 pods of containerConcurrency 2, queues of 20: room for 110 requests, 10 served a second.
    const sink: Scenario = {
      ...PRESETS.article!,
      ordering: 'unordered',
      minScale: 5,
      maxScale: 5,
      initialScale: 5,
      targetBurstCapacity: 0,
      load: { kind: 'burst', concurrency: 150, durationS: 2 },
      // 300 records at 10 a second: 30 s and some.
      tailS: 45,
    };
    const fixed = await run({ ...sink, concurrencyLimit: 'fixed' });
    expect(fixed.summary.rejected503, '503s with 256 in flight against room for 110').toBeGreaterThan(0);
    const adaptive = await run({ ...sink, concurrencyLimit: 'adaptive' });
    expect(
      adaptive.summary.rejectedShare,
      `503s: ${adaptive.summary.rejected503}; with 256 in flight ${fixed.summary.rejected503}`,
    ).toBeLessThan(0.03);
    expect(adaptive.summary.delivered).toBe(300);
  }, 180_000);

  it('a step from 20 to 100 records/s: the 72 pods it needs within 30 s of it; with BACKLOG_DRAIN=15s and BACKLOG_DRAIN_SHARE=1, the records waiting back within one second of them within 60 s; nothing lost', async () => {
    const scenario: Scenario = { ...PRESETS.step!, speed: 5, tailS: 20, backlogDrainS: 15, backlogDrainShare: 1 };
    const { summary } = await run(scenario);
    expect(summary.step?.podsNeeded).toBe(72);
    expect(summary.step?.podsReachedAfterS, 'seconds after the step until 72 pods were ready').toBeLessThanOrEqual(30);
    expect(summary.step?.lagSettledAfterS, 'seconds after the step until the lag stayed within 100 records').toBeLessThanOrEqual(60);
    expect(summary.delivered).toBe(summary.produced);
    expect(summary.deadLettered + summary.skipped).toBe(0);
  }, 180_000);

  it('micro-batching against a GPU-like sink (800 ms + 25 ms per item), with the default demand limit: batches of 8 need under a third of the pod-seconds of one record a request, the lag stays bounded and drains within 15 s, nothing lost', async () => {
    const gpu = { ...PRESETS.gpu!, tailS: 45, speed: 5 };
    const batched = { ...PRESETS['gpu-batched']!, tailS: 45, speed: 5 };
    expect(batched.concurrencyLimit, 'both run the dispatcher default').toBe(DEFAULTS.concurrencyLimit);
    const single = (await run(gpu)).summary;
    const { summary, timeline } = await run(batched);
    const needed = scenarioPodsNeeded(batched, meanRate(batched.load));
    expect(summary.podSeconds, `pod-seconds batched; one record a request ${Math.round(single.podSeconds)}`).toBeLessThan(
      single.podSeconds / 3,
    );
    // A limit short of whole batches carried less than arrived: the lag grew to the end of the load.
    expect(summary.lagZeroAfterS, 'seconds after the load until lag 0').toBeLessThanOrEqual(15);
    expect(summary.peakPods, `peak pods (the load needs ${needed.toFixed(1)})`).toBeLessThanOrEqual(2 * Math.ceil(needed));
    expect(summary.served, 'requests the sink served for 5,000 records').toBeLessThan(5000 / 4);
    expect(timeline.rows.at(-1)!.lag).toBe(0);
    expect(summary.delivered).toBe(5000);
    expect(summary.deadLettered + summary.skipped).toBe(0);
  }, 180_000);

  it('calibration against the measured figures: the old defaults (MAX_IN_FLIGHT=256, fixed) panic Knative to maxScale for 8,000-10,500 pod-seconds; MAX_IN_FLIGHT=56 by hand gets 36-46 pods and 4,500-5,900', async () => {
    const article = { ...PRESETS.article!, ordering: 'key' as const, concurrencyLimit: 'fixed' as const, tailS: 45, speed: 5 };
    const defaults = (await run(article)).summary;
    expect(defaults.peakPods).toBe(article.maxScale);
    expect(defaults.podSeconds).toBeGreaterThanOrEqual(8000);
    expect(defaults.podSeconds).toBeLessThanOrEqual(10_500);
    const byHand = (await run({ ...article, maxInFlight: 56 })).summary;
    expect(byHand.peakPods).toBeGreaterThanOrEqual(36);
    expect(byHand.peakPods).toBeLessThanOrEqual(46);
    expect(byHand.podSeconds).toBeGreaterThanOrEqual(4500);
    expect(byHand.podSeconds).toBeLessThanOrEqual(5900);
  }, 240_000);
});
