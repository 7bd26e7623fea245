import { Counter, Gauge, Registry, collectDefaultMetrics, type Aggregator } from 'prom-client';
import type { AttemptFailure, AttemptReport, DispatchListener, DispatchResult } from '../dispatch/outcome.js';
import { DEFAULT_SINK } from '../dispatch/router.js';
import type { KafkaRecord } from '../source/record.js';
import { BucketHistogram, type HistogramCell } from './bucket-histogram.js';

/**
 * The increments of one labelled counter child, added up in a plain number and handed to prom-client
 * when the registry is read: every record counts three times, and prom-client's `inc` costs more than
 * the rest of a record's metrics together.
 */
class PendingCount {
  value = 0;
  constructor(private readonly child: { inc: (n: number) => void }) {}

  flush(): void {
    if (this.value === 0) return;
    this.child.inc(this.value);
    this.value = 0;
  }
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const BATCH_RECORDS_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const BATCH_BYTES_BUCKETS = [256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216];
const BATCH_WAIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 60];
const END_TO_END_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/**
 * Prometheus metrics of one dispatcher, each in its own registry. Names and labels are listed in the
 * README's metrics reference; a test holds them to it.
 */
export class DispatchMetrics implements DispatchListener {
  readonly registry = new Registry();
  readonly received: Counter<'topic'>;
  readonly finished: Counter<'topic' | 'outcome' | 'status_class' | 'sink'>;
  readonly attempts: Counter<'topic' | 'target' | 'status_class' | 'sink'>;
  readonly retries: Counter<'topic'>;
  readonly attemptDuration: BucketHistogram<'target' | 'status_class' | 'sink'>;
  readonly expressionErrors: Counter<'topic' | 'expression'>;
  readonly endToEnd: BucketHistogram<'topic' | 'outcome'>;
  readonly inFlight: Gauge;
  readonly inFlightCapacity: Gauge;
  readonly inFlightLimit: Gauge;
  readonly demand: Gauge;
  readonly retryBacklog: Gauge;
  readonly buffered: Gauge;
  readonly blockedRetries: Counter<'topic'>;
  readonly deadLetterFailures: Counter<'topic'>;
  readonly replyFailures: Counter<'topic'>;
  readonly rebalances: Counter;
  readonly committedOffset: Gauge<'topic' | 'partition'>;
  readonly connected: Gauge;
  readonly lag: Gauge<'group' | 'topic' | 'partition'>;
  readonly lagSeconds: Gauge<'group' | 'topic' | 'partition'>;
  readonly groupLag: Gauge<'group' | 'topic'>;
  readonly groupLagSeconds: Gauge<'group' | 'topic'>;
  readonly lagRefreshFailures: Counter;
  readonly batchRecords: BucketHistogram<'sink'>;
  readonly batchBytes: BucketHistogram<'sink'>;
  readonly batchWait: BucketHistogram<'sink'>;
  /** Plain totals for the live progress line and summaries, without scraping the registry. */
  readonly totals = { received: 0, delivered: 0, deadLettered: 0, skipped: 0, discarded: 0, filtered: 0, attempts: 0 };
  private readonly waitingToRetry = new WeakSet<KafkaRecord>();
  /** Labelled children resolved once: prom-client hashes the label object on every call otherwise. */
  private readonly children = new Map<string, HistogramCell>();
  private readonly counts = new Map<string, PendingCount>();
  /** Per topic, the cells of the common path (received, one 2xx attempt, delivered): no key strings per record. */
  private readonly deliveredPaths = new Map<string, DeliveredPath>();
  private sinkSuccessDuration: HistogramCell | undefined;
  /** Records between onReceived and onFinished, read into the gauge at scrape time. */
  private inFlightCount = 0;

  /** Where the buffered-records gauge reads its value at scrape time (see `observeBuffered`). */
  private bufferedRecords: (() => number) | undefined;
  private demandRead: (() => number | undefined) | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
      new Counter<L>({ name, help, labelNames, registers });
    const flushCounts = () => {
      for (const count of this.counts.values()) count.flush();
    };
    const pendingCounter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Counter<L>({ name, help, labelNames, registers, collect: flushCounts });
    // How a gauge merges across the members of one pod (CONSUMERS > 1, src/cluster/metrics-merge.ts):
    // what each member holds of its own adds up; what every member reads of the whole group (lag,
    // demand) is the same number N times and must not be summed into N× of it.
    const gauge = <L extends string>(name: string, help: string, labelNames: L[] = [], aggregator: Aggregator = 'sum') =>
      new Gauge<L>({ name, help, labelNames, registers, aggregator });
    this.received = pendingCounter('kafka_dispatch_records_received_total', 'Records taken from Kafka and started.', ['topic']);
    this.finished = pendingCounter(
      'kafka_dispatch_records_finished_total',
      'Records finished, by outcome (delivered, dead_lettered, skipped, discarded, filtered), the class of the last sink status and the sink ROUTE chose (default: K_SINK; none: filtered or unroutable).',
      ['topic', 'outcome', 'status_class', 'sink'],
    );
    this.attempts = pendingCounter(
      'kafka_dispatch_attempts_total',
      'HTTP attempts, to the sink or the dead-letter sink, by status class (none: no answer) and sink (default: K_SINK).',
      ['topic', 'target', 'status_class', 'sink'],
    );
    this.retries = counter('kafka_dispatch_retries_total', 'Attempts that were followed by another one.', ['topic']);
    this.expressionErrors = counter(
      'kafka_dispatch_expression_errors_total',
      'Records FILTER (expression="filter": the record counts as filtered) or ROUTE (expression="route": unroutable) failed on.',
      ['topic', 'expression'],
    );
    this.attemptDuration = new BucketHistogram(
      'kafka_dispatch_attempt_duration_seconds',
      'Duration of one HTTP attempt.',
      ['target', 'status_class', 'sink'],
      LATENCY_BUCKETS,
      this.registry,
    );
    this.endToEnd = new BucketHistogram(
      'kafka_dispatch_end_to_end_seconds',
      'Record timestamp to its final outcome.',
      ['topic', 'outcome'],
      END_TO_END_BUCKETS,
      this.registry,
    );
    this.inFlight = new Gauge({
      name: 'kafka_dispatch_in_flight_requests',
      help: 'Records being dispatched now (in an attempt or waiting between attempts).',
      registers,
      collect: () => this.inFlight.set(this.inFlightCount),
    });
    this.inFlightCapacity = gauge(
      'kafka_dispatch_in_flight_capacity',
      'The configured maximum of records in flight (max-in-flight); saturation = in_flight_requests / in_flight_capacity.',
    );
    this.inFlightLimit = gauge(
      'kafka_dispatch_in_flight_limit',
      'The in-flight limit now: sized to the demand (concurrency-limit=demand, the default), learned from the sink (adaptive), or max-in-flight (fixed).',
    );
    this.demand = new Gauge({
      name: 'kafka_dispatch_concurrency_demand',
      help: "The concurrency the workload needs (Little's law): the topics' arrival rate times the sink's unloaded latency. Topic-wide, the same on every replica.",
      registers,
      aggregator: 'max',
      collect: () => {
        const value = this.demandRead?.();
        if (value !== undefined) this.demand.set(value);
      },
    });
    this.retryBacklog = gauge('kafka_dispatch_retry_backlog', 'Records waiting for their next attempt.');
    this.buffered = new Gauge({
      name: 'kafka_dispatch_buffered_records',
      help: 'Records fetched and not yet finished (queued or in flight).',
      registers,
      collect: () => {
        if (this.bufferedRecords) this.buffered.set(this.bufferedRecords());
      },
    });
    this.blockedRetries = counter(
      'kafka_dispatch_blocked_retries_total',
      'Retries of records holding their partition under failure-policy block.',
      ['topic'],
    );
    this.deadLetterFailures = counter('kafka_dispatch_dead_letter_failures_total', 'Records a dead letter (sink or topic) did not take.', [
      'topic',
    ]);
    this.replyFailures = counter('kafka_dispatch_reply_failures_total', 'Responses that could not be produced to the reply topic.', [
      'topic',
    ]);
    this.rebalances = counter('kafka_dispatch_rebalances_total', 'Consumer group rebalances this member went through.');
    this.committedOffset = gauge(
      'kafka_dispatch_committed_offset',
      'The last offset this member committed (the next to consume), per partition it owns.',
      ['topic', 'partition'],
      'max',
    );
    this.connected = gauge(
      'kafka_dispatch_consumer_connected',
      '1 while the consumer is a member of its group and the brokers answer, else 0.',
      [],
      'min',
    );
    this.lag = gauge(
      'kafka_dispatch_consumer_lag',
      "Records between the group's committed offset and the partition's end, for every partition of the group's topics.",
      ['group', 'topic', 'partition'],
      'max',
    );
    this.lagSeconds = gauge(
      'kafka_dispatch_consumer_lag_seconds',
      'Age of the oldest record not yet finished, per partition this member owns (0 when none is waiting).',
      ['group', 'topic', 'partition'],
      'max',
    );
    this.groupLag = gauge(
      'kafka_dispatch_consumer_group_lag',
      'Lag in records summed over the partitions of a topic.',
      ['group', 'topic'],
      'max',
    );
    this.groupLagSeconds = gauge(
      'kafka_dispatch_consumer_group_lag_seconds',
      'The largest lag in seconds among the partitions of a topic this member owns.',
      ['group', 'topic'],
      'max',
    );
    this.lagRefreshFailures = counter(
      'kafka_dispatch_lag_refresh_failures_total',
      'Lag refreshes that failed (the brokers did not answer).',
    );
    this.batchRecords = new BucketHistogram(
      'kafka_dispatch_batch_records',
      'Records per batch request as it closed (BATCH_MAX_RECORDS > 1), by sink (default: K_SINK).',
      ['sink'],
      BATCH_RECORDS_BUCKETS,
      this.registry,
    );
    this.batchBytes = new BucketHistogram(
      'kafka_dispatch_batch_bytes',
      "The records' value bytes per batch request as it closed, by sink.",
      ['sink'],
      BATCH_BYTES_BUCKETS,
      this.registry,
    );
    this.batchWait = new BucketHistogram(
      'kafka_dispatch_batch_wait_seconds',
      'First record into a batch to the batch sent, by sink.',
      ['sink'],
      BATCH_WAIT_BUCKETS,
      this.registry,
    );
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** A batch closed and went to its sink. */
  observeBatch(batch: { sink: string; records: number; bytes: number; waitSeconds: number }): void {
    const labels = { sink: batch.sink };
    this.batchRecords.labels(labels).observe(batch.records);
    this.batchBytes.labels(labels).observe(batch.bytes);
    this.batchWait.labels(labels).observe(batch.waitSeconds);
  }

  /** The buffered-records gauge reads `read` at every scrape (the scheduler, made after the metrics it reports to). */
  observeBuffered(read: () => number): void {
    this.bufferedRecords = read;
  }

  /** The demand gauge reads `read` at every scrape; nothing is exported until it knows. */
  observeDemand(read: () => number | undefined): void {
    this.demandRead = read;
  }

  private child(key: string, make: () => HistogramCell): HistogramCell {
    let child = this.children.get(key);
    if (!child) {
      child = make();
      this.children.set(key, child);
    }
    return child;
  }

  private count(key: string, make: () => { inc: (n: number) => void }): PendingCount {
    let count = this.counts.get(key);
    if (!count) {
      count = new PendingCount(make());
      this.counts.set(key, count);
    }
    return count;
  }

  /** Resolved once per topic; each cell is still made on first use, so no series shows before its first count. */
  private pathOf(topic: string): DeliveredPath {
    let path = this.deliveredPaths.get(topic);
    if (!path) {
      path = { received: undefined, sinkSuccess: undefined, delivered: undefined, endToEnd: undefined };
      this.deliveredPaths.set(topic, path);
    }
    return path;
  }

  onReceived(record: KafkaRecord): void {
    this.totals.received++;
    const path = this.pathOf(record.topic);
    path.received ??= this.count(`r|${record.topic}`, () => this.received.labels({ topic: record.topic }));
    path.received.value++;
    this.inFlightCount++;
  }

  onAttempt(record: KafkaRecord, report: AttemptReport): void {
    if (report.target === 'sink') {
      this.totals.attempts++;
      if (this.waitingToRetry.delete(record)) this.retryBacklog.dec();
    }
    // The common case (K_SINK answered 2xx) uses cells resolved once per topic; routed sinks take the keyed path.
    if (
      report.target === 'sink' &&
      report.error === undefined &&
      isSuccess(report.status) &&
      (report.sink ?? DEFAULT_SINK) === DEFAULT_SINK
    ) {
      const path = this.pathOf(record.topic);
      path.sinkSuccess ??= this.count(`a|${record.topic}|sink|2xx|${DEFAULT_SINK}`, () =>
        this.attempts.labels({ topic: record.topic, target: 'sink', status_class: '2xx', sink: DEFAULT_SINK }),
      );
      path.sinkSuccess.value++;
      this.sinkSuccessDuration ??= this.child(`d|sink|2xx|${DEFAULT_SINK}`, () =>
        this.attemptDuration.labels({ target: 'sink', status_class: '2xx', sink: DEFAULT_SINK }),
      );
      this.sinkSuccessDuration.observe(report.durationMs / 1000);
      return;
    }
    const statusClass = report.error ? 'none' : classOf(report.status);
    const sink = report.sink ?? DEFAULT_SINK;
    this.count(`a|${record.topic}|${report.target}|${statusClass}|${sink}`, () =>
      this.attempts.labels({ topic: record.topic, target: report.target, status_class: statusClass, sink }),
    ).value++;
    this.child(`d|${report.target}|${statusClass}|${sink}`, () =>
      this.attemptDuration.labels({ target: report.target, status_class: statusClass, sink }),
    ).observe(report.durationMs / 1000);
  }

  onAttemptFailed(record: KafkaRecord, failure: AttemptFailure): void {
    if (failure.nextDelayMs === undefined) return;
    this.retries.inc({ topic: record.topic });
    if (!this.waitingToRetry.has(record)) {
      this.waitingToRetry.add(record);
      this.retryBacklog.inc();
    }
  }

  onBlocked(record: KafkaRecord): void {
    this.blockedRetries.inc({ topic: record.topic });
  }

  onDeadLetterFailed(record: KafkaRecord): void {
    this.deadLetterFailures.inc({ topic: record.topic });
  }

  onReplyFailed(record: KafkaRecord): void {
    this.replyFailures.inc({ topic: record.topic });
  }

  onFinished(record: KafkaRecord, result: DispatchResult): void {
    this.inFlightCount--;
    if (this.waitingToRetry.delete(record)) this.retryBacklog.dec();
    const key = result.outcome === 'dead-lettered' ? 'deadLettered' : result.outcome;
    this.totals[key]++;
    const age = Math.max(0, (Date.now() - record.timestamp) / 1000);
    if (result.outcome === 'delivered' && isSuccess(result.status) && (result.sink ?? DEFAULT_SINK) === DEFAULT_SINK) {
      const path = this.pathOf(record.topic);
      path.delivered ??= this.count(`f|${record.topic}|delivered|2xx|${DEFAULT_SINK}`, () =>
        this.finished.labels({ topic: record.topic, outcome: 'delivered', status_class: '2xx', sink: DEFAULT_SINK }),
      );
      path.delivered.value++;
      path.endToEnd ??= this.child(`e|${record.topic}|delivered`, () =>
        this.endToEnd.labels({ topic: record.topic, outcome: 'delivered' }),
      );
      path.endToEnd.observe(age);
      return;
    }
    const outcome = result.outcome === 'dead-lettered' ? 'dead_lettered' : result.outcome;
    const statusClass = classOf(result.status);
    const sink = result.sink ?? 'none';
    this.count(`f|${record.topic}|${outcome}|${statusClass}|${sink}`, () =>
      this.finished.labels({ topic: record.topic, outcome, status_class: statusClass, sink }),
    ).value++;
    const code = result.error?.code;
    if (code === 'KD_FILTER_ERROR' || code === 'KD_ROUTE_ERROR') {
      this.expressionErrors.inc({ topic: record.topic, expression: code === 'KD_FILTER_ERROR' ? 'filter' : 'route' });
    }
    this.child(`e|${record.topic}|${outcome}`, () => this.endToEnd.labels({ topic: record.topic, outcome })).observe(age);
  }
}

interface DeliveredPath {
  received: PendingCount | undefined;
  sinkSuccess: PendingCount | undefined;
  delivered: PendingCount | undefined;
  endToEnd: HistogramCell | undefined;
}

function isSuccess(status: number | undefined): boolean {
  return status !== undefined && status >= 200 && status < 300;
}

/** `2xx`…`5xx`, or `none` when there was no HTTP answer. */
const CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];

export function classOf(status: number | undefined): string {
  return status === undefined ? 'none' : (CLASSES[Math.floor(status / 100)] ?? `${Math.floor(status / 100)}xx`);
}
