import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DispatchError, SinkResponseError } from '../../src/errors.js';
import type { KafkaRecord } from '../../src/source/record.js';
import { loggingListener } from '../../src/telemetry/log-listener.js';
import { createLogger } from '../../src/telemetry/logger.js';

const record: KafkaRecord = { topic: 'orders', partition: 3, offset: 41, key: null, value: Buffer.from('v'), headers: {}, timestamp: 0 };

function capture(level = 'debug') {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level, format: 'json', destination });
  return { listener: loggingListener(logger), lines };
}

describe('logging listener', () => {
  it('logs nothing for a record delivered, and nothing for a final failed attempt (the outcome line says it)', () => {
    const { listener, lines } = capture();
    listener.onAttemptFailed!(record, { attempt: 3, error: new SinkResponseError(500, Buffer.alloc(0), true), nextDelayMs: undefined });
    listener.onFinished!(record, { outcome: 'delivered', attempts: 1, status: 200, durationMs: 5 });
    expect(lines).toEqual([]);
  });

  it('logs a retry at debug with the record, attempt, code and wait', () => {
    const { listener, lines } = capture();
    listener.onAttemptFailed!(record, { attempt: 1, error: new SinkResponseError(503, Buffer.alloc(0), true), nextDelayMs: 600 });
    expect(lines).toMatchObject([
      {
        level: 'debug',
        msg: 'attempt failed, will retry',
        topic: 'orders',
        partition: 3,
        offset: 41,
        attempt: 1,
        code: 'KD_SINK_STATUS',
        retryInMs: 600,
      },
    ]);
    expect(capture('info').lines).toEqual([]);
  });

  it('logs every record that is not delivered with its outcome, at warn or error', () => {
    const { listener, lines } = capture('info');
    const error = new SinkResponseError(400, Buffer.from('bad'), false);
    listener.onFinished!(record, { outcome: 'dead-lettered', attempts: 1, status: 400, error, durationMs: 1 });
    listener.onFinished!(record, { outcome: 'skipped', attempts: 11, status: 503, error, durationMs: 1 });
    listener.onFinished!(record, {
      outcome: 'discarded',
      attempts: 0,
      error: new DispatchError('KD_RECORD_INVALID', 'not a CloudEvent'),
      durationMs: 1,
    });
    expect(lines.map((l) => [l.level, l.outcome, l.msg])).toEqual([
      ['warn', 'dead-lettered', 'record dead-lettered'],
      ['error', 'skipped', 'record given up: retries exhausted or final status, offset committed past it'],
      ['error', 'discarded', 'record discarded: it cannot become a request'],
    ]);
    expect(lines[1]).toMatchObject({ topic: 'orders', partition: 3, offset: 41, attempts: 11, status: 503, code: 'KD_SINK_STATUS' });
  });

  it('warns on each blocked round and errors on dead-letter and reply failures, naming the record', () => {
    const { listener, lines } = capture('info');
    listener.onBlocked!(record, { round: 2, error: new SinkResponseError(503, Buffer.alloc(0), true), nextDelayMs: 1200 });
    listener.onDeadLetterFailed!(record, new DispatchError('KD_DEAD_LETTER_SINK', 'dead letter answered 500'));
    listener.onReplyFailed!(record, new DispatchError('KD_REPLY_TOPIC', 'topic missing'));
    expect(lines).toMatchObject([
      { level: 'warn', round: 2, retryInMs: 1200, offset: 41 },
      { level: 'error', msg: 'dead letter failed', code: 'KD_DEAD_LETTER_SINK', err: 'dead letter answered 500', offset: 41 },
      { level: 'error', msg: 'reply not produced to the reply topic', code: 'KD_REPLY_TOPIC', partition: 3 },
    ]);
  });
});
