import { DispatchError } from '../errors.js';
import type { KeyType } from '../config/settings.js';
import type { KafkaRecord } from '../source/record.js';
import { compileRecordExpression, recordContext, type CompiledExpression, type RecordContext } from './record-expression.js';

/** The name of the sink K_SINK (and its settings) make: what a route returns to choose it. */
export const DEFAULT_SINK = 'default';

/** Where a record goes: a sink's name, or why it goes nowhere. */
export type Route = { sink: string } | { unroutable: DispatchError };

/**
 * ROUTE: a CEL expression returning the name of one of the sinks (SINKS, or `default`). A pure
 * function of the record, computed once per record before anything is sent, so that records can be
 * grouped by their route (a batcher) as well as dispatched one by one.
 */
export class Router {
  private readonly expression: CompiledExpression | undefined;

  /** No expression: every record goes to the default sink. */
  constructor(
    source: string | undefined,
    private readonly sinks: ReadonlySet<string>,
    private readonly keyType: KeyType,
  ) {
    this.expression = source === undefined ? undefined : compileRecordExpression(source, 'route');
  }

  get routes(): boolean {
    return this.expression !== undefined;
  }

  /** `context`: the record's, when the caller made it already (the filter reads the same one). */
  route(record: KafkaRecord, context?: RecordContext): Route {
    if (!this.expression) return DEFAULT_ROUTE;
    let name: string;
    try {
      name = this.expression.evaluate(context ?? recordContext(record, this.keyType)) as string;
    } catch (error) {
      return {
        unroutable: new DispatchError(
          'KD_ROUTE_ERROR',
          `route failed on ${where(record)}: ${(error as Error).message} (route: ${this.expression.source})`,
          { cause: error },
        ),
      };
    }
    if (this.sinks.has(name)) return { sink: name };
    return {
      unroutable: new DispatchError(
        'KD_ROUTE_UNKNOWN',
        `route chose ${JSON.stringify(name.slice(0, 100))} for ${where(record)}, which is no sink; sinks: ${[...this.sinks].join(', ')}`,
      ),
    };
  }
}

const DEFAULT_ROUTE: Route = { sink: DEFAULT_SINK };

function where(record: Pick<KafkaRecord, 'topic' | 'partition' | 'offset'>): string {
  return `${record.topic}/${record.partition}@${record.offset}`;
}
