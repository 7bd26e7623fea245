import type { DispatchListener } from '../dispatch/outcome.js';
import { describeRecord } from '../source/record.js';
import type { Logger } from './logger.js';

/** One log line per notable dispatch event; a record given up is always logged with where it was. */
export function loggingListener(logger: Logger): DispatchListener {
  return {
    onAttemptFailed(record, failure) {
      if (failure.nextDelayMs === undefined) return;
      logger.debug(
        {
          ...describeRecord(record),
          attempt: failure.attempt,
          code: failure.error.code,
          err: failure.error.message,
          retryInMs: failure.nextDelayMs,
        },
        'attempt failed, will retry',
      );
    },
    onBlocked(record, round) {
      logger.warn(
        { ...describeRecord(record), round: round.round, code: round.error.code, err: round.error.message, retryInMs: round.nextDelayMs },
        'partition blocked: record not accepted by the sink or a dead letter; trying again (failure-policy block)',
      );
    },
    onDeadLetterFailed(record, error) {
      logger.error({ ...describeRecord(record), code: error.code, err: error.message }, 'dead letter failed');
    },
    onReplyFailed(record, error) {
      logger.error({ ...describeRecord(record), code: error.code, err: error.message }, 'reply not produced to the reply topic');
    },
    onFinished(record, result) {
      if (result.outcome === 'delivered') return;
      if (result.outcome === 'filtered') {
        // A filter that fails on a record is a mistake worth seeing; one that is false, routine.
        if (result.error)
          logger.warn(
            { ...describeRecord(record), code: result.error.code, err: result.error.message },
            'filter failed on a record: filtered',
          );
        else logger.debug(describeRecord(record), 'record filtered');
        return;
      }
      const fields = {
        ...describeRecord(record),
        outcome: result.outcome,
        attempts: result.attempts,
        status: result.status,
        code: result.error?.code,
        err: result.error?.message,
      };
      if (result.outcome === 'dead-lettered') logger.warn(fields, 'record dead-lettered');
      else if (result.outcome === 'discarded') logger.error(fields, 'record discarded: it cannot become a request');
      else logger.error(fields, 'record given up: retries exhausted or final status, offset committed past it');
    },
  };
}
