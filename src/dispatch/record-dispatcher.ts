import type { BackoffPolicy, FailurePolicy } from '../config/settings.js';
import { BatchItemError, DispatchError, RecordFormatError, SinkResponseError } from '../errors.js';
import { flattenHeaders } from '../source/headers.js';
import type { KafkaRecord } from '../source/record.js';
import type { OutboundRequest, Sender, SinkResponse } from '../sink/sender.js';
import { percentEncode } from './cloudevents.js';
import { DEFAULT_SINK } from './router.js';
import type { DispatchListener, DispatchResult } from './outcome.js';
import { NO_TRACING, type AttemptTrace, type RecordTrace, type RecordTracer } from './record-tracer.js';
import { retryLoop, type AttemptOutcome } from './retry-loop.js';
import { isUnavailable, type WaitEnd } from './sink-recovery.js';
import { isRetriableStatus, isSuccessStatus, parseRetryAfter, type RetryRules } from './retry-policy.js';

/** Where failed records can go besides the sink. Both are optional; the sink is tried first. */
export interface DeadLetters {
  /** HTTP dead-letter sink: the event plus knativeerror* extensions. */
  sink?: { uri: string; encode: (record: KafkaRecord) => OutboundRequest } | undefined;
  /** Kafka dead-letter topic: the original record plus kd-error-* headers. */
  topic?: { name: string } | undefined;
}

/**
 * The Kafka producing the dispatcher needs (dead-letter and reply topics); the wiring
 * (src/service/start-dispatcher.ts) adapts kafkajs to it.
 */
export interface RecordProducer {
  send(topic: string, message: { key: Buffer | null; value: Buffer | null; headers: Record<string, string | Buffer> }): Promise<void>;
}

export interface RecordDispatcherOptions {
  sender: Sender;
  /** Turns a record into a request; throws RecordFormatError for a record that cannot be sent. */
  encode: (record: KafkaRecord) => OutboundRequest;
  /** The sink's URL, for knativeerrordest. */
  sinkUri: string;
  /** The sink's name in results and attempt reports (ROUTE's choice; `default` for K_SINK). */
  sinkName?: string;
  retry: number;
  backoffPolicy: BackoffPolicy;
  backoffDelayMs: number;
  retryJitter?: number;
  maxRetryAfterMs?: number;
  /** 0 = no limit. */
  maxRecordAgeMs?: number;
  failurePolicy?: FailurePolicy;
  /** Cap on the waits of `block`; none when absent (the configuration's default is DEFAULTS.maxBackoffMs). */
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
  /** Where the sink's retries wait (SinkRecovery: woken when the sink is back); plain sleeps when absent. */
  sinkWait?: (ms: number, signal: AbortSignal | undefined) => Promise<WaitEnd>;
  /**
   * Where a record whose attempt found the sink unavailable waits while the sink is down as a whole
   * (sink-recovery.ts `hold`): those failures do not count against its retries.
   */
  sinkHold?: (signal: AbortSignal | undefined) => Promise<WaitEnd>;
  /**
   * Micro-batching's records sent alone (a batch of one): judges a 2xx answer as the record's item.
   * An item marked failed is a retriable failure; `reply` is what goes to the reply topic (the whole
   * body when absent).
   */
  itemResult?: (response: SinkResponse) => { error?: string | undefined; reply?: Buffer | undefined };
}

/** Where a record sent alone after its batch stands: its first attempt's time, the attempts it had. */
export interface Resumed {
  startedAt: number;
  attempts: number;
}

/** The shortest wait between the rounds of `block`, whatever the backoff delay says. */
export const BLOCK_MIN_DELAY_MS = 100;

/** Knative sends at most this much of the last response body as knativeerrordata. */
const ERROR_DATA_LIMIT = 1024;

interface Failure {
  error: DispatchError;
  status: number | undefined;
  body: Buffer | undefined;
  /** No sink was tried (the record is unroutable): the dead letter names no destination but the reason. */
  undelivered?: true;
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
  /** How the sink and the dead-letter sink are retried. */
  private readonly rules: RetryRules;
  /** How `block` retries: every failure, the waits capped by maxBackoffMs. */
  private readonly blockRules: RetryRules;

  private readonly sinkName: string;

  constructor(private readonly options: RecordDispatcherOptions) {
    this.sinkName = options.sinkName ?? DEFAULT_SINK;
    this.now = options.now ?? Date.now;
    this.tracer = options.tracer ?? NO_TRACING;
    this.schedule = options.schedule ?? runNow;
    this.rules = {
      policy: options.backoffPolicy,
      baseMs: options.backoffDelayMs,
      jitter: options.retryJitter ?? 0,
      maxRetryAfterMs: options.maxRetryAfterMs ?? Number.POSITIVE_INFINITY,
    };
    this.blockRules = {
      ...this.rules,
      // Retrying forever with BACKOFF_DELAY=0 would be a tight loop against a sink that is down.
      baseMs: Math.max(options.backoffDelayMs, BLOCK_MIN_DELAY_MS),
      maxDelayMs: options.maxBackoffMs ?? Number.POSITIVE_INFINITY,
      retryFinal: true,
    };
  }

  /** Resolves with the outcome, or undefined when a hard stop left the record unfinished. */
  async dispatch(record: KafkaRecord, resumed?: Resumed): Promise<DispatchResult | undefined> {
    return this.traced(record, undefined, resumed);
  }

  /**
   * Finishes a record that no sink is to be tried for (ROUTE found none): to the dead letters with
   * `reason`, else skipped. Never blocks: the record would be as unroutable on every round.
   */
  async reject(record: KafkaRecord, reason: DispatchError): Promise<DispatchResult | undefined> {
    return this.traced(record, reason, undefined);
  }

  private async traced(
    record: KafkaRecord,
    rejection: DispatchError | undefined,
    resumed: Resumed | undefined,
  ): Promise<DispatchResult | undefined> {
    // The record span: child of the producer's context (Kafka headers), parent of every attempt.
    const tracing = this.tracer.start(record);
    let result: DispatchResult | undefined;
    try {
      result = await tracing.with(() => this.dispatchTraced(record, tracing, rejection, resumed));
      return result;
    } finally {
      tracing.finish(result);
    }
  }

  private async dispatchTraced(
    record: KafkaRecord,
    tracing: RecordTrace,
    rejection: DispatchError | undefined,
    resumed: Resumed | undefined,
  ): Promise<DispatchResult | undefined> {
    const { listener } = this.options;
    const started = resumed?.startedAt ?? performance.now();
    // A record resumed after its batch was received with the batch.
    if (!resumed) listener.onReceived?.(record);
    const finish = (result: Omit<DispatchResult, 'durationMs'>): DispatchResult => {
      // Set on the object made for the call rather than spread into a copy: this runs for every record.
      const full = result as DispatchResult;
      full.durationMs = performance.now() - started;
      if (rejection === undefined) full.sink = this.sinkName;
      listener.onFinished?.(record, full);
      return full;
    };

    if (rejection) {
      const dead = await this.deadLetter(record, { error: rejection, status: undefined, body: undefined, undelivered: true }, tracing);
      if (this.aborted && !dead) return undefined;
      return finish({ outcome: dead ? 'dead-lettered' : 'skipped', attempts: 0, error: rejection });
    }

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

    if (this.aborted) return undefined;
    const counter = { attempts: resumed?.attempts ?? 0 };
    const sent = await this.deliver(record, request, counter, tracing);
    if ('done' in sent) return finish({ outcome: 'delivered', attempts: counter.attempts, status: sent.done });
    if (this.aborted) return undefined;
    const failure = sent.failed;

    if (await this.deadLetter(record, failure, tracing)) {
      return finish({ outcome: 'dead-lettered', attempts: counter.attempts, status: failure.status, error: failure.error });
    }
    // A hard stop while the dead letter was being tried: unfinished, not skipped.
    if (this.aborted) return undefined;
    if (this.options.failurePolicy !== 'block') {
      return finish({ outcome: 'skipped', attempts: counter.attempts, status: failure.status, error: failure.error });
    }
    const outcome = await this.block(record, request, failure, counter, tracing);
    if (!outcome) return undefined;
    return finish({ ...outcome, attempts: counter.attempts });
  }

  private get aborted(): boolean {
    return this.options.signal?.aborted ?? false;
  }

  /**
   * The sink: the first attempt, then the retries the rules allow (retriable failures of a record not
   * past its maximum age). The status that delivered the record, or the last failure.
   */
  private async deliver(
    record: KafkaRecord,
    request: OutboundRequest,
    counter: { attempts: number },
    tracing: RecordTrace,
  ): Promise<AttemptOutcome<number, Failure>> {
    const attempt = () => this.attempt(record, request, tracing, ++counter.attempts);
    // Outside the retry loop: nearly every record goes through on its first attempt.
    const first = await attempt();
    if ('done' in first) return first;
    return retryLoop({
      failed: first.failed,
      retry: attempt,
      retries: this.options.retry,
      rules: this.rules,
      expired: () => this.isTooOld(record),
      onFailed: (failure, attempt, nextDelayMs) =>
        this.options.listener.onAttemptFailed?.(record, { attempt, error: failure.error, nextDelayMs }),
      signal: this.options.signal,
      ...(this.options.sinkWait ? { wait: this.options.sinkWait } : {}),
      ...(this.options.sinkHold ? { hold: this.options.sinkHold, unavailable: (failed: Failure) => isUnavailable(failed.error) } : {}),
    });
  }

  /**
   * One HTTP attempt (`attemptNumber` counts from 1 per destination); a non-2xx answer is a failure,
   * not an exception. Its span starts when the request leaves (after the rate limiter), and the
   * request carries that span's trace context.
   */
  private async attempt(
    record: KafkaRecord,
    request: OutboundRequest,
    tracing: RecordTrace,
    attemptNumber: number,
    target?: string,
  ): Promise<AttemptOutcome<number, Failure>> {
    let response: SinkResponse;
    const kind = target ? 'dead-letter' : 'sink';
    let started = 0;
    let span: AttemptTrace | undefined;
    try {
      const send = () => {
        started = performance.now();
        span = tracing.attempt(request, target ?? this.options.sinkUri, attemptNumber, target !== undefined);
        const traced = span;
        return traced.with(() => this.options.sender.send(traced.request, target));
      };
      response = await (this.schedule === runNow ? send() : this.schedule(send));
    } catch (error) {
      const failure = asDispatchError(error);
      span?.end({ error: failure });
      this.options.listener.onAttempt?.(record, {
        target: kind,
        sink: this.sinkName,
        durationMs: started ? performance.now() - started : 0,
        error: failure,
      });
      return { failed: { error: failure, status: undefined, body: undefined } };
    }
    this.options.listener.onAttempt?.(record, {
      target: kind,
      sink: this.sinkName,
      durationMs: performance.now() - started,
      status: response.status,
    });
    if (isSuccessStatus(response.status)) {
      const item = target ? undefined : this.options.itemResult?.(response);
      if (item?.error !== undefined) {
        const error = new BatchItemError(item.error);
        span?.end({ status: response.status, error });
        return { failed: { error, status: response.status, body: response.body } };
      }
      span?.end({ status: response.status });
      const value = item?.reply ?? response.body;
      if (!target && this.options.replyTopic && this.options.producer && value.length > 0) await this.reply(record, response, value);
      return { done: response.status };
    }
    const retriable = isRetriableStatus(response.status);
    const error = new SinkResponseError(
      response.status,
      response.body,
      retriable,
      parseRetryAfter(response.headers['retry-after'], this.now()),
    );
    span?.end({ status: response.status, error });
    return { failed: { error, status: response.status, body: response.body } };
  }

  private isTooOld(record: KafkaRecord): boolean {
    const limit = this.options.maxRecordAgeMs ?? 0;
    return limit > 0 && this.now() - record.timestamp > limit;
  }

  /** Tries the dead-letter sink, then the dead-letter topic; true when one of them took the record. */
  private async deadLetter(record: KafkaRecord, failure: Failure, tracing: RecordTrace): Promise<boolean> {
    const { deadLetters, listener } = this.options;
    if (this.aborted) return false;
    if (deadLetters?.sink) {
      const taken = await this.toDeadLetterSink(record, failure, deadLetters.sink, tracing);
      if (taken) return true;
    }
    if (this.aborted) return false;
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

  private async toDeadLetterSink(
    record: KafkaRecord,
    failure: Failure,
    sink: NonNullable<DeadLetters['sink']>,
    tracing: RecordTrace,
  ): Promise<boolean> {
    let request: OutboundRequest;
    try {
      request = sink.encode(record);
    } catch {
      // A record that cannot be a CloudEvent still reaches the dead letter, as its raw bytes.
      request = { headers: { 'content-type': 'application/octet-stream' }, body: record.value };
    }
    const headers: Record<string, string> = { ...request.headers };
    if (failure.undelivered) {
      headers['ce-kderror'] = failure.error.code;
      headers['ce-kderrorreason'] = percentEncode(failure.error.message);
    } else headers['ce-knativeerrordest'] = this.options.sinkUri;
    if (failure.status !== undefined) headers['ce-knativeerrorcode'] = String(failure.status);
    if (failure.body && failure.body.length > 0)
      headers['ce-knativeerrordata'] = failure.body.subarray(0, ERROR_DATA_LIMIT).toString('base64');
    const deadRequest = { headers, body: request.body };
    // Attempts are numbered per destination; the same rules as the sink's, but no age limit: a
    // record too old for the sink is just what the dead letter is for.
    const send = (attempt: number) => this.attempt(record, deadRequest, tracing, attempt, sink.uri);
    const first = await send(1);
    if ('done' in first) return true;
    const result = await retryLoop({
      failed: first.failed,
      retry: (retry) => send(retry + 1),
      retries: this.options.retry,
      rules: this.rules,
      signal: this.options.signal,
    });
    if ('done' in result) return true;
    // A hard stop is no failure of the dead letter: the record stays unfinished.
    if (!this.aborted) this.options.listener.onDeadLetterFailed?.(record, result.failed.error);
    return false;
  }

  private errorHeaders(record: KafkaRecord, failure: Failure): Record<string, string> {
    const headers: Record<string, string> = {
      ...(failure.undelivered ? {} : { 'kd-error-dest': this.options.sinkUri }),
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
   * again and again, waiting the configured backoff capped by maxBackoffMs, until one takes the
   * record or the dispatcher stops (undefined).
   */
  private async block(
    record: KafkaRecord,
    request: OutboundRequest,
    failed: Failure,
    counter: { attempts: number },
    tracing: RecordTrace,
  ): Promise<Omit<DispatchResult, 'durationMs' | 'attempts'> | undefined> {
    const { listener } = this.options;
    const result = await retryLoop<Omit<DispatchResult, 'durationMs' | 'attempts'>, Failure>({
      failed,
      retry: async () => {
        const sent = await this.attempt(record, request, tracing, ++counter.attempts);
        if ('done' in sent) return { done: { outcome: 'delivered', status: sent.done } };
        const failure = sent.failed;
        listener.onAttemptFailed?.(record, { attempt: counter.attempts, error: failure.error, nextDelayMs: undefined });
        if (await this.deadLetter(record, failure, tracing))
          return { done: { outcome: 'dead-lettered', status: failure.status, error: failure.error } };
        return sent;
      },
      retries: Number.POSITIVE_INFINITY,
      rules: this.blockRules,
      onFailed: (failure, round, nextDelayMs) => {
        if (nextDelayMs !== undefined) listener.onBlocked?.(record, { round, error: failure.error, nextDelayMs });
      },
      signal: this.options.signal,
      ...(this.options.sinkWait ? { wait: this.options.sinkWait } : {}),
    });
    return 'done' in result ? result.done : undefined;
  }

  private async reply(record: KafkaRecord, response: SinkResponse, value: Buffer): Promise<void> {
    const contentType = response.headers['content-type'];
    try {
      await this.options.producer!.send(this.options.replyTopic!, {
        key: record.key,
        value,
        headers: {
          // A batch item's result carries its record's headers (README, "Micro-batching").
          ...(this.options.itemResult ? flattenHeaders(record.headers) : {}),
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

/** No rate limit: the attempt runs at once (and `attempt` skips the indirection). */
const runNow = <T>(attempt: () => Promise<T>): Promise<T> => attempt();

export function asDispatchError(error: unknown, code = 'KD_UNKNOWN'): DispatchError {
  if (error instanceof DispatchError) return error;
  if (error instanceof Error && error.name === 'RecordFormatError') return new RecordFormatError(error.message, { cause: error });
  return new DispatchError(code, error instanceof Error ? error.message : String(error), { cause: error });
}
