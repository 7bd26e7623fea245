import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DispatchListener, DispatchResult, AttemptFailure } from '../dispatch/outcome.js';
import type { KafkaRecord } from '../source/record.js';

/** Prometheus metrics of one dispatcher. Each dispatcher has its own registry. */
export class DispatchMetrics implements DispatchListener {
  readonly registry = new Registry();
  readonly received: Counter<'topic'>;
  readonly finished: Counter<'topic' | 'outcome' | 'status_class'>;
  readonly attempts: Counter<'topic'>;
  readonly retries: Counter<'topic'>;
  readonly inFlight: Gauge;
  readonly inFlightCapacity: Gauge;
  readonly endToEnd: Histogram<'outcome'>;
  readonly blockedRetries: Counter<'topic'>;
  readonly deadLetterFailures: Counter<'topic'>;
  readonly replyFailures: Counter<'topic'>;
  /** Plain totals for the live progress line and summaries, without scraping the registry. */
  readonly totals = { received: 0, delivered: 0, deadLettered: 0, skipped: 0, discarded: 0, attempts: 0 };

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.received = new Counter({ name: 'kafka_dispatch_records_received_total', help: 'Records taken from Kafka for dispatch.', labelNames: ['topic'], registers });
    this.finished = new Counter({
      name: 'kafka_dispatch_records_finished_total',
      help: 'Records finished, by outcome (delivered, dead_lettered, skipped, discarded) and last HTTP status class.',
      labelNames: ['topic', 'outcome', 'status_class'],
      registers,
    });
    this.attempts = new Counter({ name: 'kafka_dispatch_attempts_total', help: 'HTTP attempts to the sink.', labelNames: ['topic'], registers });
    this.retries = new Counter({ name: 'kafka_dispatch_retries_total', help: 'Attempts that were followed by another one.', labelNames: ['topic'], registers });
    this.inFlight = new Gauge({ name: 'kafka_dispatch_in_flight_requests', help: 'Records being dispatched now (attempt or wait between attempts).', registers });
    this.inFlightCapacity = new Gauge({ name: 'kafka_dispatch_in_flight_capacity', help: 'Configured maximum of records in flight.', registers });
    this.endToEnd = new Histogram({
      name: 'kafka_dispatch_end_to_end_seconds',
      help: 'Record timestamp to final outcome.',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.blockedRetries = new Counter({ name: 'kafka_dispatch_blocked_retries_total', help: 'Retries of records holding their partition under failure-policy block.', labelNames: ['topic'], registers });
    this.deadLetterFailures = new Counter({ name: 'kafka_dispatch_dead_letter_failures_total', help: 'Records a dead letter (sink or topic) did not take.', labelNames: ['topic'], registers });
    this.replyFailures = new Counter({ name: 'kafka_dispatch_reply_failures_total', help: 'Responses that could not be produced to the reply topic.', labelNames: ['topic'], registers });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  onReceived(record: KafkaRecord): void {
    this.totals.received++;
    this.received.inc({ topic: record.topic });
    this.inFlight.inc();
  }

  onAttemptFailed(record: KafkaRecord, failure: AttemptFailure): void {
    this.attempts.inc({ topic: record.topic });
    this.totals.attempts++;
    if (failure.nextDelayMs !== undefined) this.retries.inc({ topic: record.topic });
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
    this.inFlight.dec();
    if (result.outcome === 'delivered') {
      // The successful attempt; failed ones were counted as they failed.
      this.attempts.inc({ topic: record.topic });
      this.totals.attempts++;
    }
    const key = result.outcome === 'dead-lettered' ? 'deadLettered' : result.outcome;
    this.totals[key]++;
    this.finished.inc({ topic: record.topic, outcome: result.outcome.replace('-', '_'), status_class: statusClass(result.status) });
    this.endToEnd.observe({ outcome: result.outcome.replace('-', '_') }, Math.max(0, (Date.now() - record.timestamp) / 1000));
  }
}

export function statusClass(status: number | undefined): string {
  return status === undefined ? 'none' : `${Math.floor(status / 100)}xx`;
}
