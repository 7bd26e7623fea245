import { BatchItemError, RecordFormatError, SinkResponseError, type DispatchError } from '../errors.js';
import { flattenHeaders } from '../source/headers.js';
import type { KafkaRecord } from '../source/record.js';
import type { OutboundRequest, Sender, SinkResponse } from '../sink/sender.js';
import { BatchAccumulator, type Batch, type BatchEntry } from './batch-accumulator.js';
import { batchItem, encodeBatch, itemError, mapBatchResponse, recordBytes, type BatchCodec } from './batch-encode.js';
import type { DispatchListener, DispatchResult } from './outcome.js';
import { asDispatchError, type RecordDispatcher, type RecordDispatcherOptions, type RecordProducer } from './record-dispatcher.js';
import { retryLoop, type AttemptOutcome } from './retry-loop.js';
import { isRetriableStatus, isSuccessStatus, parseRetryAfter, type RetryRules } from './retry-policy.js';
import type { WaitEnd } from './sink-recovery.js';

/** What a closed batch was, for the batch metrics. */
export interface BatchReport {
  sink: string;
  records: number;
  bytes: number;
  /** Its first record in to the batch sent. */
  waitSeconds: number;
}

export interface BatchDispatcherOptions {
  sender: Sender;
  codec: BatchCodec;
  /**
   * The same sink's record dispatcher, made with `batchOfOne`: a record that cannot share a batch
   * (too big, no JSON, its item failed, its half of a bisection is itself) finishes through it.
   */
  single: RecordDispatcher;
  sinkName: string;
  maxRecords: number;
  maxBytes: number;
  maxWaitMs: number;
  /** Retries of a failed batch request before it is split in two. */
  retry: number;
  rules: RetryRules;
  listener: DispatchListener;
  producer?: RecordProducer | undefined;
  replyTopic?: string | undefined;
  schedule?: <T>(attempt: () => Promise<T>) => Promise<T>;
  signal?: AbortSignal;
  sinkWait?: (ms: number, signal: AbortSignal | undefined) => Promise<WaitEnd>;
  onBatch?: (report: BatchReport) => void;
  /**
   * ORDERING ordered or key: a batch's halves go one after the other, and its failed items are
   * retried alone one after the other, so a lane's records reach the sink in their order.
   */
  inOrder?: boolean;
}

/**
 * Micro-batching for one sink (README, "Micro-batching"): the records the scheduler releases go into a
 * batch (BatchAccumulator), a batch is one request, and the response's items are mapped back to the
 * records, each of which then finishes as it would alone (onFinished, reply topic, offsets). A
 * failed request is retried by the retry policy; one that keeps failing is split in halves, each
 * sent again, down to single records, which take the record dispatcher's path (retries, dead
 * letters). So one bad record costs its batch ⌈log₂ n⌉ extra rounds, not the others their delivery.
 */
export class BatchDispatcher {
  private readonly accumulator: BatchAccumulator;

  constructor(private readonly options: BatchDispatcherOptions) {
    this.accumulator = new BatchAccumulator({
      maxRecords: options.maxRecords,
      maxBytes: options.maxBytes,
      maxWaitMs: options.maxWaitMs,
      bytesOf: recordBytes,
      send: (batch) => this.sendClosed(batch),
    });
  }

  /** Resolves with the record's outcome, or undefined when a hard stop left it unfinished. */
  dispatch(record: KafkaRecord): Promise<DispatchResult | undefined> {
    this.options.listener.onReceived?.(record);
    return this.accumulator.add(record);
  }

  /** Consecutive records of one lane, kept in one batch (Scheduler laneRuns); resolves when all finished. */
  dispatchRun(records: readonly KafkaRecord[]): Promise<unknown> {
    for (const record of records) this.options.listener.onReceived?.(record);
    return Promise.all(this.accumulator.addRun(records));
  }

  /** Unroutable records are never batched: the record dispatcher dead-letters them. */
  reject(record: KafkaRecord, reason: DispatchError): Promise<DispatchResult | undefined> {
    return this.options.single.reject(record, reason);
  }

  /** Sends the open batch now: the stop does not wait out BATCH_MAX_WAIT. */
  flush(): void {
    this.accumulator.flush();
  }

  private sendClosed(batch: Batch): void {
    this.options.onBatch?.({
      sink: this.options.sinkName,
      records: batch.entries.length,
      bytes: batch.bytes,
      waitSeconds: (performance.now() - batch.openedAt) / 1000,
    });
    this.run(batch.entries).catch((error: unknown) => {
      // A bug, not a failed delivery: the scheduler hears it as it would from the record dispatcher.
      const failed = Promise.reject(error instanceof Error ? error : new Error(String(error)));
      failed.catch(() => {});
      for (const entry of batch.entries) entry.resolve(failed);
    });
  }

  private get aborted(): boolean {
    return this.options.signal?.aborted ?? false;
  }

  /** One round of a batch: its request with its retries, then its results, or its two halves. */
  private async run(entries: BatchEntry[]): Promise<void> {
    if (this.aborted) {
      for (const entry of entries) entry.resolve(undefined);
      return;
    }
    const items: unknown[] = [];
    const batched: BatchEntry[] = [];
    for (const entry of entries) {
      try {
        items.push(batchItem(entry.record, this.options.codec));
        batched.push(entry);
      } catch (error) {
        if (!(error instanceof RecordFormatError)) throw error;
        // The record dispatcher fails to encode it the same way and dead-letters it.
        void this.alone(entry);
      }
    }
    if (batched.length === 0) return;
    if (batched.length === 1) {
      void this.alone(batched[0]!);
      return;
    }
    const request = encodeBatch(items, this.options.codec);
    const attempt = () => this.attempt(batched, request);
    let sent = await attempt();
    if ('failed' in sent && !this.aborted) {
      sent = await retryLoop({
        failed: sent.failed,
        retry: attempt,
        retries: this.options.retry,
        rules: this.options.rules,
        onFailed: (failure, number, nextDelayMs) => {
          for (const entry of batched)
            this.options.listener.onAttemptFailed?.(entry.record, { attempt: number, error: failure.error, nextDelayMs });
        },
        signal: this.options.signal,
        ...(this.options.sinkWait ? { wait: this.options.sinkWait } : {}),
      });
    }
    if ('done' in sent) return this.settle(batched, sent.done);
    if (this.aborted) {
      for (const entry of batched) entry.resolve(undefined);
      return;
    }
    const middle = Math.ceil(batched.length / 2);
    if (this.options.inOrder) {
      await this.run(batched.slice(0, middle));
      await this.run(batched.slice(middle));
    } else await Promise.all([this.run(batched.slice(0, middle)), this.run(batched.slice(middle))]);
  }

  /** One HTTP exchange of a batch: every record of it hears of the attempt, as it would alone. */
  private async attempt(entries: BatchEntry[], request: OutboundRequest): Promise<AttemptOutcome<SinkResponse, { error: DispatchError }>> {
    const { listener, sender, sinkName } = this.options;
    for (const entry of entries) entry.attempts++;
    const started = performance.now();
    let response: SinkResponse;
    try {
      const send = () => sender.send(request);
      response = await (this.options.schedule ? this.options.schedule(send) : send());
    } catch (error) {
      const failure = asDispatchError(error);
      const durationMs = performance.now() - started;
      const report = { target: 'sink', sink: sinkName, durationMs, records: entries.length, error: failure } as const;
      for (const entry of entries) listener.onAttempt?.(entry.record, report);
      return { failed: { error: failure } };
    }
    const durationMs = performance.now() - started;
    const report = { target: 'sink', sink: sinkName, durationMs, records: entries.length, status: response.status } as const;
    for (const entry of entries) listener.onAttempt?.(entry.record, report);
    if (isSuccessStatus(response.status)) return { done: response };
    return {
      failed: {
        error: new SinkResponseError(
          response.status,
          response.body,
          isRetriableStatus(response.status),
          parseRetryAfter(response.headers['retry-after'], Date.now()),
        ),
      },
    };
  }

  /**
   * A 2xx: each record finishes with its item. An item the sink marked failed sends its record
   * alone (retries, then the dead letter); a response that does not map to the batch's items
   * delivers every record, with no reply (it is no one record's result).
   */
  private async settle(entries: BatchEntry[], response: SinkResponse): Promise<void> {
    const { codec, listener, sinkName } = this.options;
    const results = mapBatchResponse(response, entries.length, codec);
    const failed: BatchEntry[] = [];
    await Promise.all(
      entries.map(async (entry, index) => {
        const item = results?.[index];
        const error = results ? itemError(item, codec) : undefined;
        if (error !== undefined) {
          listener.onAttemptFailed?.(entry.record, { attempt: entry.attempts, error: new BatchItemError(error), nextDelayMs: 0 });
          failed.push(entry);
          return;
        }
        if (results) await this.reply(entry.record, item);
        const result: DispatchResult = {
          outcome: 'delivered',
          attempts: entry.attempts,
          status: response.status,
          durationMs: performance.now() - entry.enteredAt,
          sink: sinkName,
        };
        listener.onFinished?.(entry.record, result);
        entry.resolve(result);
      }),
    );
    if (!this.options.inOrder) {
      for (const entry of failed) void this.alone(entry);
      return;
    }
    for (const entry of failed.sort((a, b) => entries.indexOf(a) - entries.indexOf(b))) await this.alone(entry);
  }

  /** The record's own path: a fresh first attempt, its retries, its dead letter. */
  private alone(entry: BatchEntry): Promise<unknown> {
    const finished = this.options.single.dispatch(entry.record, { startedAt: entry.enteredAt, attempts: entry.attempts });
    entry.resolve(finished);
    return finished.catch(() => {});
  }

  /** The item's result, under its record's key and headers. */
  private async reply(record: KafkaRecord, item: unknown): Promise<void> {
    const { producer, replyTopic, listener } = this.options;
    if (!producer || !replyTopic || item === undefined) return;
    try {
      await producer.send(replyTopic, {
        key: record.key,
        value: Buffer.from(JSON.stringify(item)),
        headers: {
          ...flattenHeaders(record.headers),
          'content-type': 'application/json',
          'kd-original-topic': record.topic,
          'kd-original-partition': String(record.partition),
          'kd-original-offset': String(record.offset),
        },
      });
    } catch (error) {
      listener.onReplyFailed?.(record, asDispatchError(error, 'KD_REPLY_TOPIC'));
    }
  }
}

/**
 * The record dispatcher's encoder and item judge for a batching sink: a record sent alone is a
 * batch of one, in the sink's batch format, and its answer is read as that one item.
 */
export function batchOfOne(codec: BatchCodec): Pick<RecordDispatcherOptions, 'encode' | 'itemResult'> {
  return {
    encode: (record) => encodeBatch([batchItem(record, codec)], codec),
    itemResult: (response) => {
      const results = mapBatchResponse(response, 1, codec);
      if (!results) return {};
      const error = itemError(results[0], codec);
      return error !== undefined ? { error } : { reply: Buffer.from(JSON.stringify(results[0])) };
    },
  };
}
