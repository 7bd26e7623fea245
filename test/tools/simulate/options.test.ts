import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/index.js';
import { parseSimulateArgs } from '../../../tools/commands/simulate.js';
import { meanRate, podsNeeded, PRESETS, scenarioPodsNeeded } from '../../../tools/simulate/scenario.js';

describe('simulate options', () => {
  it('starts from the article preset and takes the overrides', () => {
    const parsed = parseSimulateArgs(['--ordering', 'key', '--partitions', '24', '--rate', '100', '--duration', '30', '--speed', '20']);
    if ('help' in parsed) throw new Error('help');
    expect(parsed.scenario).toMatchObject({
      name: 'article',
      ordering: 'key',
      partitions: 24,
      speed: 20,
      containerConcurrency: 2,
      maxScale: 100,
    });
    expect(parsed.scenario.load).toEqual({ kind: 'constant', rate: 100, durationS: 30 });
    expect(parsed.compare).toBe(false);
  });

  it('--compare-batch N runs the preset one record a request and in batches of N; --batch-max-records sets the batch size', () => {
    const parsed = parseSimulateArgs(['--preset', 'gpu', '--compare-batch', '16']);
    if ('help' in parsed) throw new Error('help');
    expect(parsed.compareBatch).toBe(16);
    const sized = parseSimulateArgs(['--preset', 'gpu-batched', '--batch-max-records', '4']);
    if ('help' in sized) throw new Error('help');
    expect(sized.scenario.batchMaxRecords).toBe(4);
    expect(() => parseSimulateArgs(['--compare-batch', '1'])).toThrow(ConfigError);
    let error: unknown;
    try {
      parseSimulateArgs(['--compare', '--compare-batch', '8']);
    } catch (e) {
      error = e;
    }
    expect((error as ConfigError).issues).toEqual([{ path: '--compare-batch', message: 'give --compare or --compare-batch, not both' }]);
  });

  it('--kafkasource takes the dispatcher settings of a manifest: the seed KafkaSource runs ordered', () => {
    const parsed = parseSimulateArgs(['--kafkasource', 'test/fixtures/kafkasource.yaml']);
    if ('help' in parsed) throw new Error('help');
    expect(parsed.scenario).toMatchObject({ ordering: 'ordered', name: 'article-kafkasource' });
    // The seed's ASK annotations: k8s.aliyun.com/req-timeout 60, retry-count 5.
    expect(parsed.scenario).toMatchObject({ requestTimeoutS: 60, retryCount: 5 });
  });

  it('names every wrong option at once', () => {
    let error: unknown;
    try {
      parseSimulateArgs([
        '--preset',
        'nope',
        '--ordering',
        'sideways',
        '--partitions',
        '0x10',
        '--speed',
        '0',
        '--min-scale',
        '5',
        '--max-scale',
        '2',
      ]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['--preset', '--ordering', '--partitions', '--speed', '--min-scale']));
  });

  it('knows what the article needs: 50 msg/s × 1 s ÷ (0.7 × 2) ≈ 36 pods', () => {
    const article = PRESETS.article!;
    expect(Math.ceil(podsNeeded(meanRate(article.load), article.latencyMs, article.containerConcurrency))).toBe(36);
  });

  it('knows what batches of 8 need against 800 ms + 25 ms per item: 50 ÷ 8 requests/s × 1 s ÷ (0.7 × 2) ≈ 4.5 pods, against 29.5 one record a request', () => {
    expect(scenarioPodsNeeded(PRESETS['gpu-batched']!, 50)).toBeCloseTo(6.25 / 1.4, 5);
    expect(scenarioPodsNeeded(PRESETS.gpu!, 50)).toBeCloseTo((50 * 0.825) / 1.4, 5);
  });
});
