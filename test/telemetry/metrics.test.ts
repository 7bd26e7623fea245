import { describe, expect, it } from 'vitest';
import { SinkResponseError, SinkTransportError } from '../../src/errors.js';
import { DispatchMetrics } from '../../src/telemetry/metrics.js';

// Written by hand from the README's metrics reference table, not read back from the code (the `sink`
// labels and the expression errors are in docs/filtering-and-routing.md until it is merged in).
const GOLDEN: Array<[name: string, type: 'counter' | 'gauge' | 'histogram', labels: string[]]> = [
  ['kafka_dispatch_records_received_total', 'counter', ['topic']],
  ['kafka_dispatch_records_finished_total', 'counter', ['topic', 'outcome', 'status_class', 'sink']],
  ['kafka_dispatch_attempts_total', 'counter', ['topic', 'target', 'status_class', 'sink']],
  ['kafka_dispatch_retries_total', 'counter', ['topic']],
  ['kafka_dispatch_expression_errors_total', 'counter', ['topic', 'expression']],
  ['kafka_dispatch_attempt_duration_seconds', 'histogram', ['target', 'status_class', 'sink']],
  ['kafka_dispatch_end_to_end_seconds', 'histogram', ['topic', 'outcome']],
  ['kafka_dispatch_in_flight_requests', 'gauge', []],
  ['kafka_dispatch_in_flight_capacity', 'gauge', []],
  ['kafka_dispatch_in_flight_limit', 'gauge', []],
  ['kafka_dispatch_concurrency_demand', 'gauge', []],
  ['kafka_dispatch_retry_backlog', 'gauge', []],
  ['kafka_dispatch_buffered_records', 'gauge', []],
  ['kafka_dispatch_blocked_retries_total', 'counter', ['topic']],
  ['kafka_dispatch_dead_letter_failures_total', 'counter', ['topic']],
  ['kafka_dispatch_reply_failures_total', 'counter', ['topic']],
  ['kafka_dispatch_rebalances_total', 'counter', []],
  ['kafka_dispatch_committed_offset', 'gauge', ['topic', 'partition']],
  ['kafka_dispatch_consumer_connected', 'gauge', []],
  ['kafka_dispatch_consumer_lag', 'gauge', ['group', 'topic', 'partition']],
  ['kafka_dispatch_consumer_group_lag', 'gauge', ['group', 'topic']],
  ['kafka_dispatch_consumer_lag_seconds', 'gauge', ['group', 'topic', 'partition']],
  ['kafka_dispatch_consumer_group_lag_seconds', 'gauge', ['group', 'topic']],
  ['kafka_dispatch_lag_refresh_failures_total', 'counter', []],
  ['kafka_dispatch_batch_records', 'histogram', ['sink']],
  ['kafka_dispatch_batch_bytes', 'histogram', ['sink']],
  ['kafka_dispatch_batch_wait_seconds', 'histogram', ['sink']],
];

describe('metrics', () => {
  it('are exactly the documented names, types and labels', async () => {
    const metrics = new DispatchMetrics();
    const exported = (await metrics.registry.getMetricsAsJSON()).filter((m) => m.name.startsWith('kafka_dispatch_'));
    expect(exported.map((m) => m.name).sort()).toEqual(GOLDEN.map(([name]) => name).sort());
    for (const [name, type, labels] of GOLDEN) {
      const metric = metrics.registry.getSingleMetric(name) as unknown as { labelNames: string[] };
      expect(exported.find((m) => m.name === name)!.type, name).toBe(type);
      expect([...metric.labelNames].sort(), name).toEqual([...labels].sort());
    }
  });

  it('follow Prometheus naming: counters end in _total, durations in _seconds', () => {
    for (const [name, type] of GOLDEN) {
      if (type === 'counter') expect(name).toMatch(/_total$/);
      else expect(name).not.toMatch(/_total$/);
      if (name.includes('duration') || name.includes('end_to_end')) expect(name).toMatch(/_seconds$/);
    }
  });

  it('include Node process metrics when asked, in the same registry', async () => {
    const metrics = new DispatchMetrics({ defaultMetrics: true });
    const text = await metrics.registry.metrics();
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });
});

describe('metrics follow dispatch events', () => {
  const record = (topic = 't1') => ({ topic, partition: 0, offset: 1, key: null, value: null, headers: {}, timestamp: Date.now() - 2000 });
  const values = async (metrics: DispatchMetrics, name: string) =>
    (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name)!.values as Array<{
      value: number;
      labels: Record<string, string | number>;
      metricName?: string;
    }>;

  it('count attempts by target and status class, retries, and each outcome with its labels', async () => {
    const metrics = new DispatchMetrics();
    const a = record();
    metrics.onReceived(a);
    metrics.onAttempt(a, { target: 'sink', durationMs: 20, status: 503 });
    metrics.onAttemptFailed(a, { attempt: 1, error: new SinkResponseError(503, Buffer.alloc(0), true), nextDelayMs: 300 });
    expect((await values(metrics, 'kafka_dispatch_retry_backlog'))[0]!.value).toBe(1);
    metrics.onAttempt(a, { target: 'sink', durationMs: 10, error: new SinkTransportError('reset', { timedOut: false }) });
    metrics.onAttempt(a, { target: 'dead-letter', durationMs: 5, status: 202 });
    metrics.onFinished(a, { outcome: 'dead-lettered', attempts: 2, status: 503, durationMs: 40 });

    const attempts = await values(metrics, 'kafka_dispatch_attempts_total');
    expect(attempts.map((v) => [v.labels.target, v.labels.status_class, v.value]).sort()).toEqual([
      ['dead-letter', '2xx', 1],
      ['sink', '5xx', 1],
      ['sink', 'none', 1],
    ]);
    expect((await values(metrics, 'kafka_dispatch_retries_total'))[0]).toMatchObject({ value: 1, labels: { topic: 't1' } });
    expect((await values(metrics, 'kafka_dispatch_records_finished_total'))[0]).toMatchObject({
      value: 1,
      labels: { topic: 't1', outcome: 'dead_lettered', status_class: '5xx' },
    });
    expect((await values(metrics, 'kafka_dispatch_in_flight_requests'))[0]!.value).toBe(0);
    expect((await values(metrics, 'kafka_dispatch_retry_backlog'))[0]!.value).toBe(0);
    const endToEnd = await values(metrics, 'kafka_dispatch_end_to_end_seconds');
    const sum = endToEnd.find((v) => v.metricName === 'kafka_dispatch_end_to_end_seconds_sum')!;
    expect(sum.value).toBeGreaterThanOrEqual(2);
  });

  it('count blocked rounds, dead-letter and reply failures per topic', async () => {
    const metrics = new DispatchMetrics();
    metrics.onBlocked(record('a'));
    metrics.onBlocked(record('a'));
    metrics.onDeadLetterFailed(record('b'));
    metrics.onReplyFailed(record('c'));
    expect((await values(metrics, 'kafka_dispatch_blocked_retries_total'))[0]).toMatchObject({ value: 2, labels: { topic: 'a' } });
    expect((await values(metrics, 'kafka_dispatch_dead_letter_failures_total'))[0]).toMatchObject({ value: 1, labels: { topic: 'b' } });
    expect((await values(metrics, 'kafka_dispatch_reply_failures_total'))[0]).toMatchObject({ value: 1, labels: { topic: 'c' } });
  });
});
