import { describe, expect, it } from 'vitest';
import {
  CLOUDEVENTS_BATCH,
  batchItem,
  encodeBatch,
  itemError,
  mapBatchResponse,
  type BatchCodec,
} from '../../src/dispatch/batch-encode.js';
import type { BatchFormat } from '../../src/config/settings.js';
import { RecordFormatError } from '../../src/errors.js';
import type { SinkResponse } from '../../src/sink/sender.js';
import { rec } from '../helpers/records.js';

const codec = (format: BatchFormat, itemErrorField = 'error'): BatchCodec => ({
  format,
  ceContext: { namespace: 'default', name: 'images', keyType: 'string', extensions: {} },
  oipInput: 'input-0',
  oipDatatype: 'FP32',
  itemErrorField,
});
const withValue = (offset: number, value: unknown) => ({
  ...rec('images', 0, offset, `k${offset}`),
  value: Buffer.from(JSON.stringify(value)),
});
const response = (body: unknown): SinkResponse => ({ status: 200, headers: {}, body: Buffer.from(JSON.stringify(body)) });
const bodyOf = (format: BatchFormat, values: unknown[]) => {
  const c = codec(format);
  const request = encodeBatch(
    values.map((value, i) => batchItem(withValue(i, value), c)),
    c,
  );
  return { contentType: request.headers['content-type'], body: JSON.parse(request.body!.toString()) as unknown };
};

describe('batch formats (the examples of README, "Micro-batching")', () => {
  const values = [{ x: [1, 2] }, { x: [3, 4] }, { x: [5, 6] }];

  it('json-array: the values as an array; the answer is an array of as many results', () => {
    expect(bodyOf('json-array', values)).toEqual({ contentType: 'application/json', body: values });
    const results = [{ label: 'cat' }, { label: 'dog' }, { error: 'image too small' }];
    expect(mapBatchResponse(response(results), 3, codec('json-array'))).toEqual(results);
    expect(mapBatchResponse(response(results), 4, codec('json-array'))).toBeUndefined();
  });

  it('kserve-v1: {instances} in, {predictions} out', () => {
    expect(bodyOf('kserve-v1', values).body).toEqual({ instances: values });
    expect(mapBatchResponse(response({ predictions: [0.91, 0.12, 0.55] }), 3, codec('kserve-v1'))).toEqual([0.91, 0.12, 0.55]);
  });

  it('oip-v2: one input tensor of one row per record; the first output read back by rows', () => {
    expect(
      bodyOf('oip-v2', [
        [1, 2],
        [3, 4],
        [5, 6],
      ]).body,
    ).toEqual({
      inputs: [{ name: 'input-0', shape: [3, 2], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }],
    });
    const c = codec('oip-v2');
    expect(
      mapBatchResponse(response({ outputs: [{ name: 'o', shape: [3, 1], datatype: 'FP32', data: [0.91, 0.12, 0.55] }] }), 3, c),
    ).toEqual([0.91, 0.12, 0.55]);
    expect(mapBatchResponse(response({ outputs: [{ name: 'o', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] }] }), 2, c)).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('cloudevents-batch: structured events with the binary mode attributes, JSON data as data', () => {
    const { contentType, body } = bodyOf('cloudevents-batch', [{ x: [1, 2] }]);
    expect(contentType).toBe(CLOUDEVENTS_BATCH);
    expect(body).toEqual([
      expect.objectContaining({
        specversion: '1.0',
        id: 'partition:0/offset:0',
        source: '/apis/v1/namespaces/default/kafkasources/images#images',
        type: 'dev.knative.kafka.event',
        data: { x: [1, 2] },
      }),
    ]);
  });

  it('a value that is no JSON cannot be an item', () => {
    expect(() => batchItem(rec('t', 0, 1), codec('json-array'))).toThrow(RecordFormatError);
  });

  it('the item error convention: an object whose field is set and not null; none turns it off', () => {
    expect(itemError({ error: 'image too small' }, codec('json-array'))).toBe('image too small');
    expect(itemError({ error: { code: 7 } }, codec('json-array'))).toBe('{"code":7}');
    expect(itemError({ error: null, label: 'cat' }, codec('json-array'))).toBeUndefined();
    expect(itemError('error', codec('json-array'))).toBeUndefined();
    expect(itemError({ error: 'x' }, codec('json-array', ''))).toBeUndefined();
    expect(itemError({ failure: 'x' }, codec('json-array', 'failure'))).toBe('x');
  });
});
