import type { DispatchError } from '../errors.js';
import type { KafkaRecord } from '../source/record.js';

/**
 * How a record finished. Every one of them lets its offset be committed:
 * - delivered: the sink answered 2xx;
 * - dead-lettered: the dead letter took it after the sink refused or retries ran out;
 * - skipped: retries ran out (or a final status) and there was no dead letter, or it failed too;
 * - discarded: the record could not become a request at all;
 * - filtered: FILTER was not true for it (or failed on it, `error` says how): no request was made.
 */
export type Outcome = 'delivered' | 'dead-lettered' | 'skipped' | 'discarded' | 'filtered';

export interface DispatchResult {
  outcome: Outcome;
  attempts: number;
  /** Last HTTP status from the sink, if it answered. */
  status?: number | undefined;
  error?: DispatchError | undefined;
  /** First attempt to final outcome. */
  durationMs: number;
  /** The sink ROUTE chose (`default`: K_SINK); undefined when there was none (filtered, unroutable). */
  sink?: string | undefined;
}

export interface AttemptFailure {
  attempt: number;
  error: DispatchError;
  /** Wait before the next attempt; undefined when there will be none. */
  nextDelayMs: number | undefined;
}

/** One HTTP exchange, whatever its result. */
export interface AttemptReport {
  target: 'sink' | 'dead-letter';
  /** The name of the sink the record went to (`default`: K_SINK), whichever target this attempt had. */
  sink?: string | undefined;
  durationMs: number;
  /** Records the request carried (BATCH_MAX_RECORDS); absent: one. */
  records?: number | undefined;
  status?: number | undefined;
  /** Set when there was no HTTP answer (connection error, timeout). */
  error?: DispatchError | undefined;
}

export interface BlockedRound {
  round: number;
  error: DispatchError;
  nextDelayMs: number;
}

/** Listeners learn what happens to records; the offset manager, the metrics and the logs are listeners. */
export interface DispatchListener {
  onReceived?(record: KafkaRecord): void;
  onAttempt?(record: KafkaRecord, report: AttemptReport): void;
  onAttemptFailed?(record: KafkaRecord, failure: AttemptFailure): void;
  /** `block` policy: the record holds its partition and will be tried again. */
  onBlocked?(record: KafkaRecord, round: BlockedRound): void;
  onDeadLetterFailed?(record: KafkaRecord, error: DispatchError): void;
  onReplyFailed?(record: KafkaRecord, error: DispatchError): void;
  onFinished?(record: KafkaRecord, result: DispatchResult): void;
}

/**
 * Calls each listener in turn; one that throws does not stop the others. Written out per event, with
 * no closure per call: every record goes through three of them.
 */
export class ListenerSet implements Required<DispatchListener> {
  constructor(
    private readonly listeners: DispatchListener[],
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  add(listener: DispatchListener): void {
    this.listeners.push(listener);
  }

  onReceived(record: KafkaRecord): void {
    for (const l of this.listeners) {
      try {
        l.onReceived?.(record);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  onAttempt(record: KafkaRecord, report: AttemptReport): void {
    for (const l of this.listeners) {
      try {
        l.onAttempt?.(record, report);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  onAttemptFailed(record: KafkaRecord, failure: AttemptFailure): void {
    for (const l of this.listeners) {
      try {
        l.onAttemptFailed?.(record, failure);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  onBlocked(record: KafkaRecord, round: BlockedRound): void {
    for (const l of this.listeners) {
      try {
        l.onBlocked?.(record, round);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  onDeadLetterFailed(record: KafkaRecord, error: DispatchError): void {
    for (const l of this.listeners) {
      try {
        l.onDeadLetterFailed?.(record, error);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  onReplyFailed(record: KafkaRecord, error: DispatchError): void {
    for (const l of this.listeners) {
      try {
        l.onReplyFailed?.(record, error);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  onFinished(record: KafkaRecord, result: DispatchResult): void {
    for (const l of this.listeners) {
      try {
        l.onFinished?.(record, result);
      } catch (error) {
        this.onError(error);
      }
    }
  }
}
