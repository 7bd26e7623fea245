import pRetry, { AbortError } from 'p-retry';
import type { BackoffPolicy } from '../config/settings.js';
import { DispatchError, RecordFormatError, SinkResponseError } from '../errors.js';
import type { KafkaRecord } from '../source/record.js';
import type { OutboundRequest, Sender } from './http-sender.js';
import type { DispatchListener, DispatchResult } from './outcome.js';
import { isRetriableStatus, isSuccessStatus, parseRetryAfter, retryDelayMs } from './retry-policy.js';

export interface RecordDispatcherOptions {
  sender: Sender;
  /** Turns a record into a request; throws RecordFormatError for a record that cannot be sent. */
  encode: (record: KafkaRecord) => OutboundRequest;
  retry: number;
  backoffPolicy: BackoffPolicy;
  backoffDelayMs: number;
  maxRetryAfterMs?: number;
  listener: DispatchListener;
  /** Aborts waits between attempts on a hard shutdown. */
  signal?: AbortSignal;
}

/**
 * The per-record state machine: attempts, retry decisions and waits, and the final outcome. Knows
 * nothing of Kafka consumers or offsets: it is handed a record and reports what became of it.
 */
export class RecordDispatcher {
  constructor(private readonly options: RecordDispatcherOptions) {}

  async dispatch(record: KafkaRecord): Promise<DispatchResult> {
    const { listener } = this.options;
    const started = performance.now();
    listener.onReceived?.(record);
    let request: OutboundRequest;
    try {
      request = this.options.encode(record);
    } catch (error) {
      const result: DispatchResult = {
        outcome: 'discarded',
        attempts: 0,
        error: error instanceof DispatchError ? error : new RecordFormatError(String(error), { cause: error }),
        durationMs: performance.now() - started,
      };
      listener.onFinished?.(record, result);
      return result;
    }

    let attempts = 0;
    let lastStatus: number | undefined;
    let result: DispatchResult;
    try {
      await pRetry(
        async () => {
          attempts++;
          const response = await this.options.sender.send(request);
          lastStatus = response.status;
          if (isSuccessStatus(response.status)) return;
          const retriable = isRetriableStatus(response.status);
          const error = new SinkResponseError(response.status, response.body, retriable, parseRetryAfter(response.headers['retry-after']));
          throw retriable ? error : new AbortError(error);
        },
        {
          retries: this.options.retry,
          // p-retry's own delays are exponential only: ours come from the pure policy, awaited here.
          minTimeout: 0,
          maxTimeout: 0,
          randomize: false,
          ...(this.options.signal ? { signal: this.options.signal } : {}),
          onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
            const failure = error instanceof DispatchError ? error : new DispatchError('KD_UNKNOWN', String(error), { cause: error });
            const willRetry = retriesLeft > 0 && failure.retriable;
            const nextDelayMs = willRetry
              ? retryDelayMs({
                  policy: this.options.backoffPolicy,
                  baseMs: this.options.backoffDelayMs,
                  retry: attemptNumber,
                  retryAfterMs: failure instanceof SinkResponseError ? failure.retryAfterMs : undefined,
                  ...(this.options.maxRetryAfterMs !== undefined ? { maxRetryAfterMs: this.options.maxRetryAfterMs } : {}),
                })
              : undefined;
            listener.onAttemptFailed?.(record, { attempt: attemptNumber, error: failure, nextDelayMs });
            if (nextDelayMs) await sleep(nextDelayMs, this.options.signal);
          },
          shouldRetry: ({ error }) => !(error instanceof DispatchError) || error.retriable,
        },
      );
      result = { outcome: 'delivered', attempts, status: lastStatus, durationMs: performance.now() - started };
    } catch (error) {
      // p-retry rejects with the last error; a final status arrives unwrapped from its AbortError.
      const failure = error instanceof DispatchError ? error : new DispatchError('KD_UNKNOWN', String(error), { cause: error });
      result = { outcome: 'skipped', attempts, status: lastStatus, error: failure, durationMs: performance.now() - started };
    }
    listener.onFinished?.(record, result);
    return result;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
