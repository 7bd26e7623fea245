import { DispatchError } from '../errors.js';
import type { KeyType } from '../config/settings.js';
import type { KafkaRecord } from '../source/record.js';
import { compileRecordExpression, recordContext, type CompiledExpression, type RecordContext } from './record-expression.js';

/** A filter's verdict on one record; `error` when the expression failed on it (it then does not match). */
export type FilterVerdict = { matches: true } | { matches: false; error?: DispatchError };

/**
 * FILTER: records for which the CEL expression is not true are finished without a request. An
 * expression that fails on a record (a field it lacks, a value of another type) does not match, as
 * Knative's CESQL filters treat errors as false; the verdict carries the error so it is counted and
 * logged. `has(value.field)` guards a field that some records lack.
 */
export class RecordFilter {
  private readonly expression: CompiledExpression;

  constructor(
    source: string,
    private readonly keyType: KeyType,
  ) {
    this.expression = compileRecordExpression(source, 'filter');
  }

  get source(): string {
    return this.expression.source;
  }

  /** `context`: the record's, when the caller made it already (the route reads the same one). */
  test(record: KafkaRecord, context: RecordContext = recordContext(record, this.keyType)): FilterVerdict {
    try {
      return this.expression.evaluate(context) ? { matches: true } : { matches: false };
    } catch (error) {
      return {
        matches: false,
        error: new DispatchError(
          'KD_FILTER_ERROR',
          `filter failed on ${record.topic}/${record.partition}@${record.offset}: ${(error as Error).message}`,
          { cause: error },
        ),
      };
    }
  }
}
