import { describe, expect, it } from 'vitest';
import { formatSummary, LatencyRecorder, percentile, summarize } from '../../../tools/loadgen/summary.js';

describe('loadgen summary', () => {
  it('nearest-rank percentiles over messages, a request counting once per message it carried', () => {
    const samples = Array.from({ length: 100 }, (_, i) => ({ ms: i + 1, count: 1 }));
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile(samples, 100)).toBe(100);
    expect(percentile([], 50)).toBeUndefined();
    // 98 messages acked in 2 ms (one request), 2 in 300 ms: p50 2, p99 300.
    expect(
      percentile(
        [
          { ms: 300, count: 2 },
          { ms: 2, count: 98 },
        ],
        50,
      ),
    ).toBe(2);
    expect(
      percentile(
        [
          { ms: 300, count: 2 },
          { ms: 2, count: 98 },
        ],
        99,
      ),
    ).toBe(300);
    expect(percentile([{ ms: 7, count: 1 }], 99)).toBe(7);
  });

  it('the achieved rate is sent over the load’s duration; JSON fields are rounded numbers', () => {
    const latencies = new LatencyRecorder();
    latencies.add(1.234, 50);
    latencies.add(10.5, 50);
    latencies.add(99, 0); // no messages: not a sample
    const summary = summarize({
      topic: 't',
      shape: 'burst: 50 messages at once every second for 2 s',
      target: 100,
      scheduleMs: 2000,
      sent: 100,
      failed: 0,
      elapsedMs: 2012.3456,
      maxLateMs: 1.23456,
      latencies,
      interrupted: false,
    });
    expect(summary).toEqual({
      topic: 't',
      shape: 'burst: 50 messages at once every second for 2 s',
      target: 100,
      sent: 100,
      failed: 0,
      durationS: 2.012,
      targetRate: 50,
      achievedRate: 49.69,
      latencyP50Ms: 1.23,
      latencyP99Ms: 10.5,
      maxLateMs: 1.23,
      interrupted: false,
    });
    const text = formatSummary(summary);
    expect(text).toContain('sent      100 of 100, failed 0');
    expect(text).toContain('49.7 msg/s achieved over 2.0 s (target 50.0 msg/s)');
    expect(text).toContain('p50 1.2 ms, p99 10.5 ms');
  });

  it('with nothing acked: rates 0 and latencies null, not NaN', () => {
    const s = summarize({
      topic: 't',
      shape: 'x',
      target: 10,
      scheduleMs: 1000,
      sent: 0,
      failed: 10,
      elapsedMs: 0,
      maxLateMs: 0,
      latencies: new LatencyRecorder(),
      interrupted: true,
    });
    expect(s).toMatchObject({ achievedRate: 0, latencyP50Ms: null, latencyP99Ms: null, interrupted: true });
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(formatSummary(s)).toContain('summary (interrupted)');
    expect(formatSummary(s)).toContain('p50 n/a, p99 n/a');
  });
});
