import { describe, expect, it } from 'vitest';
import { DispatchError } from '../../src/errors.js';
import { DEFAULT_SINK, Router } from '../../src/dispatch/router.js';
import type { KafkaRecord } from '../../src/source/record.js';

const SINKS = new Set([DEFAULT_SINK, 'sklearn-iris', 'resnet']);

function record(headers: KafkaRecord['headers'], value: string | null = '{"model": "resnet"}'): KafkaRecord {
  return { topic: 'models', partition: 2, offset: 17, key: null, value: value === null ? null : Buffer.from(value), headers, timestamp: 0 };
}

function unroutable(route: ReturnType<Router['route']>): DispatchError {
  if (!('unroutable' in route)) throw new Error(`routed to ${route.sink}`);
  expect(route.unroutable).toBeInstanceOf(DispatchError);
  return route.unroutable;
}

describe('Router', () => {
  it('without an expression every record goes to the default sink (K_SINK)', () => {
    const router = new Router(undefined, SINKS, 'string');
    expect(router.routes).toBe(false);
    expect(router.route(record({ model: 'resnet' }))).toEqual({ sink: DEFAULT_SINK });
  });

  it('routes a record to the sink the expression names, default among them', () => {
    const router = new Router('headers.model', SINKS, 'string');
    expect(router.routes).toBe(true);
    expect(router.route(record({ model: 'sklearn-iris' }))).toEqual({ sink: 'sklearn-iris' });
    expect(router.route(record({ model: 'resnet' }))).toEqual({ sink: 'resnet' });
    expect(router.route(record({ model: 'default' }))).toEqual({ sink: DEFAULT_SINK });
    expect(new Router('value.model', SINKS, 'string').route(record({}))).toEqual({ sink: 'resnet' });
  });

  it('a name that is no sink is unroutable, KD_ROUTE_UNKNOWN, naming the record, the name and the sinks', () => {
    const error = unroutable(new Router('headers.model', SINKS, 'string').route(record({ model: 'gpt' })));
    expect(error.code).toBe('KD_ROUTE_UNKNOWN');
    expect(error.message).toBe('route chose "gpt" for models/2@17, which is no sink; sinks: default, sklearn-iris, resnet');
  });

  it('an expression failing on the record is unroutable, KD_ROUTE_ERROR, with the reason and the expression', () => {
    const router = new Router('headers.model', SINKS, 'string');
    const missing = unroutable(router.route(record({})));
    expect(missing.code).toBe('KD_ROUTE_ERROR');
    expect(missing.message).toBe('route failed on models/2@17: No such key: model (route: headers.model)');
    const wrongType = unroutable(new Router('value.model', SINKS, 'string').route(record({}, '{"model": 3}')));
    expect(wrongType.code).toBe('KD_ROUTE_ERROR');
    expect(wrongType.message).toBe('route failed on models/2@17: the route returned a number, not a string (route: value.model)');
  });

  it('a long unknown name is cut in the message', () => {
    const error = unroutable(new Router('headers.model', SINKS, 'string').route(record({ model: 'x'.repeat(500) })));
    expect(error.message).toContain(`"${'x'.repeat(100)}" for`);
  });
});
