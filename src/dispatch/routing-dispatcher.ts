import type { KeyType } from '../config/settings.js';
import type { KafkaRecord } from '../source/record.js';
import type { DispatchListener, DispatchResult } from './outcome.js';
import type { RecordDispatcher } from './record-dispatcher.js';

/** What dispatches a sink's records: its record dispatcher, or its batch dispatcher (BATCH_MAX_RECORDS > 1). */
export type SinkDispatcher = Pick<RecordDispatcher, 'dispatch' | 'reject'> & {
  /** A run of consecutive records of one lane that must travel in one batch (BatchDispatcher). */
  dispatchRun?(records: readonly KafkaRecord[]): Promise<unknown>;
};
import type { RecordFilter } from './record-filter.js';
import { recordContext } from './record-expression.js';
import { DEFAULT_SINK, type Router } from './router.js';

export interface RoutingDispatcherOptions {
  filter?: RecordFilter | undefined;
  router: Router;
  /** One record dispatcher per sink, by name; `default` (K_SINK) among them, whose dead letters take the unroutable. */
  dispatchers: ReadonlyMap<string, SinkDispatcher>;
  listener: DispatchListener;
  keyType: KeyType;
}

/**
 * In front of the record dispatchers: a record FILTER is not true for finishes at once (outcome
 * filtered, so its offset is committed in its turn like any other); the rest goes to the dispatcher
 * of the sink ROUTE chose, or, unroutable, to the default sink's dead letters with the reason. The
 * scheduler runs this per record as it would one dispatcher, so ordering and offsets do not change:
 * a record is finished when its chosen sink finished it.
 */
export class RoutingDispatcher {
  private readonly fallback: SinkDispatcher;

  constructor(private readonly options: RoutingDispatcherOptions) {
    const fallback = options.dispatchers.get(DEFAULT_SINK);
    if (!fallback) throw new Error(`routing: no dispatcher for the "${DEFAULT_SINK}" sink`);
    this.fallback = fallback;
  }

  /**
   * A lane's run of records (batching in ordered or key): each is filtered and routed as alone, and
   * the records of one sink go to it together, in their order, to share one batch.
   */
  dispatchRun(records: readonly KafkaRecord[]): Promise<unknown> {
    const { filter, router, listener } = this.options;
    const finished: Array<Promise<unknown>> = [];
    const bySink = new Map<string, KafkaRecord[]>();
    for (const record of records) {
      const context = recordContext(record, this.options.keyType);
      if (filter) {
        const verdict = filter.test(record, context);
        if (!verdict.matches) {
          listener.onReceived?.(record);
          listener.onFinished?.(record, { outcome: 'filtered', attempts: 0, durationMs: 0, error: verdict.error });
          continue;
        }
      }
      const route = router.route(record, context);
      if ('unroutable' in route) finished.push(this.fallback.reject(record, route.unroutable));
      else bySink.set(route.sink, [...(bySink.get(route.sink) ?? []), record]);
    }
    for (const [sink, routed] of bySink) {
      const dispatcher = this.options.dispatchers.get(sink)!;
      if (dispatcher.dispatchRun) finished.push(dispatcher.dispatchRun(routed));
      else for (const record of routed) finished.push(dispatcher.dispatch(record));
    }
    return Promise.all(finished);
  }

  dispatch(record: KafkaRecord): Promise<DispatchResult | undefined> {
    const { filter, router, listener } = this.options;
    // One context for both expressions: the value is parsed at most once per record.
    const context = recordContext(record, this.options.keyType);
    if (filter) {
      const verdict = filter.test(record, context);
      if (!verdict.matches) {
        listener.onReceived?.(record);
        const result: DispatchResult = { outcome: 'filtered', attempts: 0, durationMs: 0, error: verdict.error };
        listener.onFinished?.(record, result);
        return Promise.resolve(result);
      }
    }
    const route = router.route(record, context);
    if ('unroutable' in route) return this.fallback.reject(record, route.unroutable);
    // The router only names sinks it was given, each of which has its dispatcher.
    return this.options.dispatchers.get(route.sink)!.dispatch(record);
  }
}
