import { describe, expect, it } from 'vitest';
import { formatTable } from '../../src/cli/lag.js';
import { partitionLag } from '../../src/telemetry/lag.js';

describe('partitionLag (KEDA rules)', () => {
  it.each([
    // end, committed, policy, lag
    { end: 10, committed: 4, policy: 'earliest', lag: 6 },
    { end: 10, committed: 4, policy: 'latest', lag: 6 },
    { end: 10, committed: 10, policy: 'latest', lag: 0 },
    { end: 0, committed: 0, policy: 'earliest', lag: 0 },
    // a commit past the end (e.g. read before the end offset moved): never negative
    { end: 10, committed: 12, policy: 'earliest', lag: 0 },
    { end: 10, committed: 12, policy: 'latest', lag: 0 },
    // never committed, latest: 1 (KEDA without scaleToZeroOnInvalidOffset), whatever the end
    { end: 10, committed: undefined, policy: 'latest', lag: 1 },
    { end: 0, committed: undefined, policy: 'latest', lag: 1 },
    // never committed, earliest: the end offset itself
    { end: 10, committed: undefined, policy: 'earliest', lag: 10 },
    { end: 0, committed: undefined, policy: 'earliest', lag: 0 },
    // kafkajs's "-1" passed through as a number counts as never committed too
    { end: 7, committed: -1, policy: 'earliest', lag: 7 },
    { end: 7, committed: -1, policy: 'latest', lag: 1 },
  ] as const)('end $end, committed $committed, $policy → $lag', ({ end, committed, policy, lag }) => {
    expect(partitionLag(end, committed, policy)).toBe(lag);
  });
});

describe('formatTable', () => {
  it('prints kafka-consumer-groups columns, "-" for unknowns and a TOTAL line per topic', () => {
    const text = formatTable({
      groupId: 'g',
      partitions: [
        { topic: 't', partition: 0, endOffset: 10, committedOffset: 4, lag: 6, owner: 'c@h', lagSeconds: 2.5 },
        { topic: 't', partition: 1, endOffset: 3, committedOffset: undefined, lag: 1 },
        { topic: 'u', partition: 0, endOffset: 5, committedOffset: 5, lag: 0, lagSeconds: 0 },
      ],
      totalByTopic: { t: 7, u: 0 },
      total: 7,
    });
    const rows = text
      .trimEnd()
      .split('\n')
      .map((line) => line.split(/\s+/));
    expect(rows[0]).toEqual(['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'LAG-SECONDS', 'OWNER']);
    expect(rows.slice(1)).toEqual([
      ['g', 't', '0', '4', '10', '6', '2.5', 'c@h'],
      ['g', 't', '1', '-', '3', '1', '-', '-'],
      ['g', 't', 'TOTAL', '-', '-', '7', '-', '-'],
      ['g', 'u', '0', '5', '5', '0', '0.0', '-'],
      ['g', 'u', 'TOTAL', '-', '-', '0', '0.0', '-'],
    ]);
  });
});
