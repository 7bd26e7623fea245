import { describe, expect, it } from 'vitest';
import { orderedCeiling } from '../../src/service/scaling-advice.js';

describe('the ordered ceiling, said out loud', () => {
  it('with the partitions known: 12 partitions, containerConcurrency 2 → at most 9 pods', () => {
    expect(orderedCeiling(12)).toBe(
      'ordered: at most 12 requests in flight (12 partitions), so a sink with containerConcurrency 2 and target utilisation 0.7 scales to at most 9 pods; ORDERING=key (order per key) or unordered lets it scale',
    );
    expect(orderedCeiling(6, 4)).toContain(
      'at most 6 requests in flight (6 partitions), so a sink with containerConcurrency 4 and target utilisation 0.7 scales to at most 3 pods',
    );
  });
});
