import { describe, expect, it } from 'vitest';
import type { DispatchError } from '../../src/errors.js';
import type { DispatchListener, DispatchResult } from '../../src/dispatch/outcome.js';
import type { RecordDispatcher } from '../../src/dispatch/record-dispatcher.js';
import { RecordFilter } from '../../src/dispatch/record-filter.js';
import { DEFAULT_SINK, Router } from '../../src/dispatch/router.js';
import { RoutingDispatcher } from '../../src/dispatch/routing-dispatcher.js';
import type { KafkaRecord } from '../../src/source/record.js';

/** A record dispatcher that only notes what it was asked to do. */
function recordingDispatcher(name: string, calls: string[]): RecordDispatcher {
  return {
    dispatch: (record: KafkaRecord) => {
      calls.push(`${name}.dispatch@${record.offset}`);
      return Promise.resolve({ outcome: 'delivered', attempts: 1, durationMs: 1, sink: name } satisfies DispatchResult);
    },
    reject: (record: KafkaRecord, reason: DispatchError) => {
      calls.push(`${name}.reject@${record.offset}:${reason.code}`);
      return Promise.resolve({ outcome: 'dead-lettered', attempts: 0, durationMs: 1, error: reason } satisfies DispatchResult);
    },
  } as unknown as RecordDispatcher;
}

function record(offset: number, model: string | undefined, value = '{"n": 1}'): KafkaRecord {
  return { topic: 't', partition: 0, offset, key: null, value: Buffer.from(value), headers: model ? { model } : {}, timestamp: 0 };
}

function setup(filter: string | undefined, route: string | undefined) {
  const calls: string[] = [];
  const events: string[] = [];
  const listener: DispatchListener = {
    onReceived: (r) => events.push(`received@${r.offset}`),
    onFinished: (r, result) => events.push(`finished@${r.offset}:${result.outcome}${result.error ? `:${result.error.code}` : ''}`),
  };
  const dispatchers = new Map([DEFAULT_SINK, 'resnet'].map((name) => [name, recordingDispatcher(name, calls)]));
  const routing = new RoutingDispatcher({
    filter: filter === undefined ? undefined : new RecordFilter(filter, 'string'),
    router: new Router(route, new Set(dispatchers.keys()), 'string'),
    dispatchers,
    listener,
    keyType: 'string',
  });
  return { routing, calls, events };
}

describe('RoutingDispatcher', () => {
  it('finishes a record the filter is false for, or fails on, at once as filtered, without asking any sink', async () => {
    const { routing, calls, events } = setup('value.n > 1', undefined);
    expect(await routing.dispatch(record(0, undefined, '{"n": 2}'))).toMatchObject({ outcome: 'delivered', sink: DEFAULT_SINK });
    expect(await routing.dispatch(record(1, undefined, '{"n": 1}'))).toEqual({
      outcome: 'filtered',
      attempts: 0,
      durationMs: 0,
      error: undefined,
    });
    const failed = await routing.dispatch(record(2, undefined, '{"m": 1}'));
    expect(failed).toMatchObject({ outcome: 'filtered', attempts: 0 });
    expect(failed!.error!.code).toBe('KD_FILTER_ERROR');
    expect(calls).toEqual(['default.dispatch@0']);
    // The listeners hear of a filtered record as of any other: the offsets are committed behind it.
    expect(events).toEqual(['received@1', 'finished@1:filtered', 'received@2', 'finished@2:filtered:KD_FILTER_ERROR']);
  });

  it('sends each record to the dispatcher of the sink its route names, the unroutable to the default one to reject', async () => {
    const { routing, calls } = setup('"model" in headers', 'headers.model');
    await routing.dispatch(record(0, 'resnet'));
    await routing.dispatch(record(1, 'default'));
    await routing.dispatch(record(2, 'gpt'));
    await routing.dispatch(record(3, undefined));
    expect(calls).toEqual(['resnet.dispatch@0', 'default.dispatch@1', 'default.reject@2:KD_ROUTE_UNKNOWN']);
  });

  it('refuses to be made without a dispatcher for the default sink', () => {
    expect(
      () =>
        new RoutingDispatcher({
          router: new Router(undefined, new Set(), 'string'),
          dispatchers: new Map(),
          listener: {},
          keyType: 'string',
        }),
    ).toThrow('routing: no dispatcher for the "default" sink');
  });
});
