import type { DispatchError } from '../errors.js';
import type { OutboundRequest } from '../sink/sender.js';
import type { KafkaRecord } from '../source/record.js';
import type { DispatchResult } from './outcome.js';

/**
 * What the record dispatcher asks of tracing, defined here so that dispatch depends on no tracing
 * library: the wiring hands in an implementation (OtelRecordTracer, with OpenTelemetry spans), and
 * without one nothing is traced.
 */
export interface RecordTracer {
  /** Called when a record's dispatch begins. */
  start(record: KafkaRecord): RecordTrace;
}

/** The tracing of one record's dispatch, and of the attempts under it. */
export interface RecordTrace {
  /** Runs `fn` (the whole dispatch) in the record's trace context. */
  with<T>(fn: () => T): T;
  /**
   * Starts the trace of one HTTP POST to `targetUri` (the sink, or a dead letter when `deadLetter`);
   * `attempt` counts from 1 per destination.
   */
  attempt(request: OutboundRequest, targetUri: string, attempt: number, deadLetter: boolean): AttemptTrace;
  /** Ends the record's trace; `result` undefined = a hard stop left the record unfinished. */
  finish(result: Pick<DispatchResult, 'outcome' | 'attempts' | 'status' | 'error'> | undefined): void;
}

export interface AttemptTrace {
  /** The request to send: the original, or a copy carrying the trace context. */
  request: OutboundRequest;
  /** Runs `fn` (the send) in the attempt's trace context. */
  with<T>(fn: () => T): T;
  end(result: AttemptEnd): void;
}

/** What the record dispatcher reports of one HTTP attempt. */
export interface AttemptEnd {
  status?: number | undefined;
  /** A non-2xx status or a transport error. */
  error?: DispatchError | undefined;
}

const call = <T>(fn: () => T): T => fn();
const nothing = (): void => {};
const UNTRACED: RecordTrace = {
  with: call,
  attempt: (request) => ({ request, with: call, end: nothing }),
  finish: nothing,
};

/** The default: nothing is traced, and requests go out as they were encoded. */
export const NO_TRACING: RecordTracer = { start: () => UNTRACED };
