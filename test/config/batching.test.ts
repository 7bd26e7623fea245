import { describe, it, expect } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { resolveConfig } from '../../src/config/resolve.js';

const REQUIRED_ENV = { KAFKA_BROKERS: 'env:9092', KAFKA_TOPICS: 'env-topic', K_SINK: 'http://env.example/' };

function issuesOf(env: Record<string, string>): ConfigError['issues'] {
  try {
    resolveConfig({ env: { ...REQUIRED_ENV, ...env } });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('the configuration was accepted');
}

describe('batching settings', () => {
  it('are off by default: one record per request', () => {
    const { settings } = resolveConfig({ env: REQUIRED_ENV });
    expect(settings).toMatchObject({
      batchMaxRecords: 1,
      batchMaxBytes: 1024 * 1024,
      batchMaxWaitMs: 10,
      batchFormat: 'json-array',
      batchItemErrorField: 'error',
      batchOipInput: 'input-0',
      batchOipDatatype: 'FP32',
    });
  });

  it('read from the environment and from flags', () => {
    const { settings, origins } = resolveConfig({
      env: {
        ...REQUIRED_ENV,
        ORDERING: 'unordered',
        BATCH_MAX_RECORDS: '32',
        BATCH_MAX_BYTES: '65536',
        BATCH_MAX_WAIT: '0.025',
        BATCH_FORMAT: 'kserve-v1',
        BATCH_ITEM_ERROR_FIELD: 'none',
      },
    });
    expect(settings).toMatchObject({
      batchMaxRecords: 32,
      batchMaxBytes: 65536,
      batchMaxWaitMs: 25,
      batchFormat: 'kserve-v1',
      batchItemErrorField: '',
    });
    expect(origins.batchMaxRecords).toBe('env.BATCH_MAX_RECORDS');
  });

  it.each([
    ['BATCH_MAX_RECORDS', '0', 'must be an integer from 1 to 10000, got "0"'],
    ['BATCH_MAX_RECORDS', '10001', 'must be an integer from 1 to 10000, got "10001"'],
    ['BATCH_MAX_BYTES', '100', 'must be an integer from 1024 to 67108864, got "100"'],
    ['BATCH_MAX_WAIT', 'soon', 'must be seconds (e.g. 2 or 0.5) or an ISO-8601 duration (e.g. PT0.5S), got "soon"'],
    ['BATCH_FORMAT', 'xml', 'must be one of json-array, kserve-v1, oip-v2, cloudevents-batch, got "xml"'],
  ])('%s=%s is refused: %s', (name, text, message) => {
    expect(issuesOf({ ORDERING: 'unordered', [name]: text })).toEqual([{ path: `env.${name}`, message }]);
  });

  it('BATCH_MAX_WAIT above a minute is refused', () => {
    const [issue] = issuesOf({ ORDERING: 'unordered', BATCH_MAX_WAIT: '61' });
    expect(issue!.path).toBe('env.BATCH_MAX_WAIT');
    expect(issue!.message).toMatch(/^must be at most/);
  });

  it.each(['ordered', 'key', 'unordered'] as const)('batching goes with ORDERING=%s', (ordering) => {
    const { settings } = resolveConfig({ env: { ...REQUIRED_ENV, ORDERING: ordering, BATCH_MAX_RECORDS: '8' } });
    expect(settings).toMatchObject({ ordering, batchMaxRecords: 8 });
  });

  it('BATCH_MAX_RECORDS=1 goes with any ordering', () => {
    expect(resolveConfig({ env: { ...REQUIRED_ENV, BATCH_MAX_RECORDS: '1' } }).settings.ordering).toBe('ordered');
  });
});
