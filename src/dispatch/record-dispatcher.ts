import pRetry, { AbortError } from 'p-retry';
import type { BackoffPolicy, FailurePolicy } from '../config/settings.js';
import { DispatchError, RecordFormatError, SinkResponseError } from '../errors.js';
import { flattenHeaders } from '../source/headers.js';
import type { KafkaRecord } from '../source/record.js';
import type { OutboundRequest, Sender, SinkResponse } from '../sink/sender.js';
import type { DispatchListener, DispatchResult } from './outcome.js';
import { NO_TRACING, type AttemptTrace, type RecordTrace, type RecordTracer } from './record-tracer.js';
import { sleep } from '../util/timers.js';
import { backoffDelayMs, isRetriableStatus, isSuccessStatus, parseRetryAfter, retryDelayMs } from './retry-policy.js';

/** Where failed records can go besides the sink. Both are optional; the sink is tried first. */
export interface DeadLetters {
  /** HTTP dead-letter sink: the event plus knativeerror* extensions. */
  sink?: { uri: string; encode: (record: KafkaRecord) => OutboundRequest } | undefined;
  /** Kafka dead-letter topic: the original record plus kd-error-* headers. */
  topic?: { name: string } | undefined;
}

/** The Kafka producing the dispatcher needs (dead-letter and reply topics); main adapts kafkajs to it. */
export interface RecordProducer {
  send(topic: string, message: { key: Buffer | null; value: Buffer | null; headers: Record<string, string | Buffer> }): Promise<void>;
}

export interface RecordDispatcherOptions {
  sender: Sender;
  /** Turns a record into a request; throws RecordFormatError for a record that cannot be sent. */
  encode: (record: KafkaRecord) => OutboundRequest;
  /** The sink's URL, for knativeerrordest. */
  sinkUri: string;
  retry: number;
  backoffPolicy: BackoffPolicy;
  backoffDelayMs: number;
  retryJitter?: number;
  maxRetryAfterMs?: number;
  /** 0 = no limit. */
  maxRecordAgeMs?: number;
  failurePolicy?: FailurePolicy;
  maxBackoffMs?: number;
  deadLetters?: DeadLetters;
  producer?: RecordProducer | undefined;
  replyTopic?: string | undefined;
  /** Wraps every HTTP attempt (the rate limiter). */
  schedule?: <T>(attempt: () => Promise<T>) => Promise<T>;
  listener: DispatchListener;
  /** Aborted on a hard stop: the record stays unfinished (not committed) and is redelivered later. */
  signal?: AbortSignal;
  now?: () => number;
  /** Traces each record and its attempts; none by default. */
  tracer?: RecordTracer;
}

/** Knative sends at most this much of the last response body as knativeerrordata. */
const ERROR_DATA_LIMIT = 1024;

interface Failure {
  error: DispatchError;
  status: number | undefined;
  body: Buffer | undefined;
}

/**
 * The per-record state machine: attempts, retry decisions and waits, dead letters, the failure
 * policy and the final outcome. It knows nothing of consumers or offsets: it is handed a record and
 * reports what became of it to its listener.
 */
export class RecordDispatcher {
  private readonly now: () => number;
  private readonly schedule: <T>(attempt: () => Promise<T>) => Promise<T>;
  private readonly tracer: RecordTracer;

  constructor(private readonly options: RecordDispatcherOptions) {
    this.now = options.now ?? Date.now;
    this.tracer = options.tracer ?? NO_TRACING;
    this.schedule = options.schedule ?? ((attempt) => attempt());
  }

  /** Resolves with the outcome, or undefined when a hard stop left the record unfinished. */
  async dispatch(record: KafkaRecord): Promise<DispatchResult | undefined> {
    // The record span: child of the producer's context (Kafka headers), parent of every attempt.
    const tracing = this.tracer.start(record);
    let result: DispatchResult | undefined;
    try {
      result = await tracing.with(() => this.dispatchTraced(record, tracing));
      return result;
    } finally {
      tracing.finish(result);
    }
  }

  private async dispatchTraced(record: KafkaRecord, tracing: RecordTrace): Promise<DispatchResult | undefined> {
    const { listener } = this.options;
    const started = performance.now();
    listener.onReceived?.(record);
    const finish = (result: Omit<DispatchResult, 'durationMs'>): DispatchResult => {
      const full = { ...result, durationMs: performance.now() - started };
      listener.onFinished?.(record, full);
      return full;
    };

    let request: OutboundRequest;
    try {
      request = this.options.encode(record);
    } catch (error) {
      const failure: Failure = { error: asDispatchError(error, 'KD_RECORD_INVALID'), status: undefined, body: undefined };
      // Never retried: it would fail the same way every time.
      const dead = await this.deadLetter(record, failure, tracing);
      if (this.aborted && !dead) return undefined;
      return finish({ outcome: dead ? 'dead-lettered' : 'discarded', attempts: 0, error: failure.error });
    }

    const counter = { attempts: 0 };
    const first = await this.deliverWithRetries(record, request, counter, tracing);
    if ('delivered' in first) return finish({ outcome: 'delivered', attempts: counter.attempts, status: first.delivered });
    if (this.aborted) return undefined;
    const failure = first;

    if (await this.deadLetter(record, failure, tracing)) {
      return finish({ outcome: 'dead-lettered', attempts: counter.attempts, status: failure.status, error: failure.error });
    }
    // A hard stop while the dead letter was being tried: unfinished, not skipped.
    if (this.aborted) return undefined;
    if (this.options.failurePolicy !== 'block') {
      return finish({ outcome: 'skipped', attempts: counter.attempts, status: failure.status, error: failure.error });
    }
    const outcome = await this.blockUntilAccepted(record, request, failure, counter, tracing);
    if (!outcome) return undefined;
    return finish({ ...outcome, attempts: counter.attempts });
  }

  private get aborted(): boolean {
    return this.options.signal?.aborted ?? false;
  }

  /** The status that delivered the record, or the last failure once retries are over. */
  private async deliverWithRetries(record: KafkaRecord, request: OutboundRequest, counter: { attempts: number }, tracing: RecordTrace): Promise<Failure | { delivered: number }> {
    if (this.aborted) return { error: new DispatchError('KD_STOPPED', 'the dispatcher is stopping'), status: undefined, body: undefined };
    // Fast path: nearly every record goes through on its first attempt, without the retry machinery.
    counter.attempts++;
    const first = await this.attempt(record, request, tracing, counter.attempts);
    if (!('failure' in first)) return { delivered: first.status };
    const firstDelay = this.afterFailedAttempt(record, first.failure.error, 1, this.options.retry);
    if (firstDelay === undefined) return first.failure;
    if (firstDelay > 0) await sleep(firstDelay, this.options.signal);
    if (this.aborted) return first.failure;

    let last: Failure = first.failure;
    let deliveredStatus = 0;
    let stop = false;
    try {
      await pRetry(
        async () => {
          counter.attempts++;
          const result = await this.attempt(record, request, tracing, counter.attempts);
          if ('failure' in result) {
            last = result.failure;
            throw result.failure.error;
          }
          deliveredStatus = result.status;
        },
        {
          retries: this.options.retry - 1,
          // p-retry's own delays are exponential only: ours come from the pure policy, awaited here.
          minTimeout: 0,
          maxTimeout: 0,
          randomize: false,
          ...(this.options.signal ? { signal: this.options.signal } : {}),
          // Called for every failed attempt, final ones included, before shouldRetry.
          onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
            const delay = this.afterFailedAttempt(record, asDispatchError(error), attemptNumber + 1, retriesLeft);
            stop = delay === undefined;
            if (delay) await sleep(delay, this.options.signal);
          },
          shouldRetry: () => !stop,
        },
      );
      return { delivered: deliveredStatus };
    } catch (error) {
      return last ?? { error: asDispatchError(error), status: undefined, body: undefined };
    }
  }

  /**
   * After failed attempt number `attempt`: tells the listener, and returns the wait before the next
   * attempt, or undefined when there will be none (a final status, no retries left, or a record past
   * its maximum age, which goes to the dead letter instead).
   */
  private afterFailedAttempt(record: KafkaRecord, failure: DispatchError, attempt: number, retriesLeft: number): number | undefined {
    const stop = !failure.retriable || retriesLeft <= 0 || this.isTooOld(record);
    const nextDelayMs = stop
      ? undefined
      : retryDelayMs({
          policy: this.options.backoffPolicy,
          baseMs: this.options.backoffDelayMs,
          retry: attempt,
          retryAfterMs: failure instanceof SinkResponseError ? failure.retryAfterMs : undefined,
          maxRetryAfterMs: this.options.maxRetryAfterMs ?? Number.POSITIVE_INFINITY,
          jitter: this.options.retryJitter ?? 0,
        });
    this.options.listener.onAttemptFailed?.(record, { attempt, error: failure, nextDelayMs });
    return nextDelayMs;
  }


  /**
   * One HTTP attempt (`attemptNumber` counts from 1 per destination); a non-2xx answer is a failure,
   * not an exception. Its span starts when the request leaves (after the rate limiter), and the
   * request carries that span's trace context.
   */
  private async attempt(record: KafkaRecord, request: OutboundRequest, tracing: RecordTrace, attemptNumber: number, target?: string): Promise<{ status: number } | { failure: Failure }> {
    let response: SinkResponse;
    const kind = target ? 'dead-letter' : 'sink';
    let started = 0;
    let span: AttemptTrace | undefined;
    try {
      response = await this.schedule(() => {
        started = performance.now();
        span = tracing.attempt(request, target ?? this.options.sinkUri, attemptNumber, target !== undefined);
        const traced = span;
        return traced.with(() => this.options.sender.send(traced.request, target));
      });
    } catch (error) {
      const failure = asDispatchError(error);
      span?.end({ error: failure });
      this.options.listener.onAttempt?.(record, { target: kind, durationMs: started ? performance.now() - started : 0, error: failure });
      return { failure: { error: failure, status: undefined, body: undefined } };
    }
    this.options.listener.onAttempt?.(record, { target: kind, durationMs: performance.now() - started, status: response.status });
    if (isSuccessStatus(response.status)) {
      span?.end({ status: response.status });
      if (!target && this.options.replyTopic && this.options.producer && response.body.length > 0) await this.reply(record, response);
      return { status: response.status };
    }
    const retriable = isRetriableStatus(response.status);
    const error = new SinkResponseError(response.status, response.body, retriable, parseRetryAfter(response.headers['retry-after'], this.now()));
    span?.end({ status: response.status, error });
    return { failure: { error, status: response.status, body: response.body } };
  }

  private isTooOld(record: KafkaRecord): boolean {
    const limit = this.options.maxRecordAgeMs ?? 0;
    return limit > 0 && this.now() - record.timestamp > limit;
  }

  /** Tries the dead-letter sink, then the dead-letter topic; true when one of them took the record. */
  private async deadLetter(record: KafkaRecord, failure: Failure, tracing: RecordTrace): Promise<boolean> {
    const { deadLetters, listener } = this.options;
    if (deadLetters?.sink) {
      const taken = await this.toDeadLetterSink(record, failure, deadLetters.sink, tracing);
      if (taken) return true;
    }
    if (deadLetters?.topic && this.options.producer) {
      try {
        await this.options.producer.send(deadLetters.topic.name, {
          key: record.key,
          value: record.value,
          headers: { ...flattenHeaders(record.headers), ...this.errorHeaders(record, failure) },
        });
        return true;
      } catch (error) {
        listener.onDeadLetterFailed?.(record, asDispatchError(error, 'KD_DEAD_LETTER_TOPIC'));
      }
    }
    return false;
  }

  private async toDeadLetterSink(record: KafkaRecord, failure: Failure, sink: NonNullable<DeadLetters['sink']>, tracing: RecordTrace): Promise<boolean> {
    let request: OutboundRequest;
    try {
      request = sink.encode(record);
    } catch {
      // A record that cannot be a CloudEvent still reaches the dead letter, as its raw bytes.
      request = { headers: { 'content-type': 'application/octet-stream' }, body: record.value };
    }
    const headers: Record<string, string> = { ...request.headers, 'ce-knativeerrordest': this.options.sinkUri };
    if (failure.status !== undefined) headers['ce-knativeerrorcode'] = String(failure.status);
    if (failure.body && failure.body.length > 0) headers['ce-knativeerrordata'] = failure.body.subarray(0, ERROR_DATA_LIMIT).toString('base64');
    const deadRequest = { headers, body: request.body };
    try {
      let deadAttempts = 0;
      await pRetry(
        async () => {
          const result = await this.attempt(record, deadRequest, tracing, ++deadAttempts, sink.uri);
          if ('failure' in result) throw result.failure.error.retriable ? result.failure.error : new AbortError(result.failure.error);
        },
        {
          retries: this.options.retry,
          minTimeout: 0,
          maxTimeout: 0,
          ...(this.options.signal ? { signal: this.options.signal } : {}),
          onFailedAttempt: async ({ attemptNumber, retriesLeft }) => {
            if (retriesLeft > 0) await sleep(backoffDelayMs(this.options.backoffPolicy, this.options.backoffDelayMs, attemptNumber), this.options.signal);
          },
        },
      );
      return true;
    } catch (error) {
      this.options.listener.onDeadLetterFailed?.(record, asDispatchError(error, 'KD_DEAD_LETTER_SINK'));
      return false;
    }
  }

  private errorHeaders(record: KafkaRecord, failure: Failure): Record<string, string> {
    const headers: Record<string, string> = {
      'kd-error-dest': this.options.sinkUri,
      'kd-error-reason': failure.error.message,
      'kd-error-code-name': failure.error.code,
      'kd-original-topic': record.topic,
      'kd-original-partition': String(record.partition),
      'kd-original-offset': String(record.offset),
    };
    if (failure.status !== undefined) headers['kd-error-code'] = String(failure.status);
    if (failure.body && failure.body.length > 0) headers['kd-error-data'] = failure.body.subarray(0, ERROR_DATA_LIMIT).toString('base64');
    return headers;
  }

  /**
   * `block`: nothing is dropped. The sink (whatever its status says) and the dead letters are tried
   * again and again with a capped backoff until one takes the record or the dispatcher stops.
   */
  private async blockUntilAccepted(record: KafkaRecord, request: OutboundRequest, first: Failure, counter: { attempts: number }, tracing: RecordTrace): Promise<Omit<DispatchResult, 'durationMs' | 'attempts'> | undefined> {
    let failure = first;
    for (let round = 1; !this.aborted; round++) {
      const delay = Math.min(backoffDelayMs('exponential', Math.max(this.options.backoffDelayMs, 1), Math.min(round, 30)), this.options.maxBackoffMs ?? 60_000);
      this.options.listener.onBlocked?.(record, { round, error: failure.error, nextDelayMs: delay });
      await sleep(delay, this.options.signal);
      if (this.aborted) return undefined;
      counter.attempts++;
      const result = await this.attempt(record, request, tracing, counter.attempts);
      if (!('failure' in result)) return { outcome: 'delivered', status: result.status };
      failure = result.failure;
      this.options.listener.onAttemptFailed?.(record, { attempt: counter.attempts, error: failure.error, nextDelayMs: undefined });
      if (await this.deadLetter(record, failure, tracing)) return { outcome: 'dead-lettered', status: failure.status, error: failure.error };
    }
    return undefined;
  }

  private async reply(record: KafkaRecord, response: SinkResponse): Promise<void> {
    const contentType = response.headers['content-type'];
    try {
      await this.options.producer!.send(this.options.replyTopic!, {
        key: record.key,
        value: response.body,
        headers: {
          ...(typeof contentType === 'string' ? { 'content-type': contentType } : {}),
          'kd-original-topic': record.topic,
          'kd-original-partition': String(record.partition),
          'kd-original-offset': String(record.offset),
        },
      });
    } catch (error) {
      this.options.listener.onReplyFailed?.(record, asDispatchError(error, 'KD_REPLY_TOPIC'));
    }
  }
}

function asDispatchError(error: unknown, code = 'KD_UNKNOWN'): DispatchError {
  if (error instanceof DispatchError) return error;
  if (error instanceof Error && error.name === 'RecordFormatError') return new RecordFormatError(error.message, { cause: error });
  return new DispatchError(code, error instanceof Error ? error.message : String(error), { cause: error });
}
