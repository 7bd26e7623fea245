import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { ResponseCollector } from '../../src/sink/response-collector.js';
import type { SinkResponse } from '../../src/sink/sender.js';

/** What undici hands the handler: here only abort is used, and recorded. */
class RecordingController {
  abortedWith: Error | undefined;
  readonly paused = false;
  readonly reason = null;
  get aborted(): boolean {
    return this.abortedWith !== undefined;
  }
  abort(reason: Error): void {
    this.abortedWith = reason;
  }
  pause(): void {}
  resume(): void {}
}

function controller(): Dispatcher.DispatchController & RecordingController {
  return new RecordingController() as unknown as Dispatcher.DispatchController & RecordingController;
}

function collect(limit = 8) {
  let settled: { response?: SinkResponse; error?: Error } | undefined;
  const collector = new ResponseCollector(
    limit,
    (response) => (settled = { response }),
    (error) => (settled = { error }),
  );
  return { collector, settled: () => settled };
}

describe('ResponseCollector', () => {
  it('gathers the status, the headers and the body, skipping 1xx answers', () => {
    const { collector, settled } = collect();
    const c = controller();
    collector.onRequestStart(c);
    collector.onResponseStart(c, 100, {});
    collector.onResponseStart(c, 202, { 'content-type': 'application/json' });
    collector.onResponseData(c, Buffer.from('{"a":'));
    collector.onResponseData(c, Buffer.from('1}'));
    collector.onResponseEnd();
    expect(settled()?.response?.status).toBe(202);
    expect(settled()?.response?.headers['content-type']).toBe('application/json');
    expect(settled()?.response?.body.toString()).toBe('{"a":1}');
  });

  it('keeps at most the limit of body bytes and reads the rest', () => {
    const { collector, settled } = collect(4);
    const c = controller();
    collector.onRequestStart(c);
    collector.onResponseStart(c, 200, {});
    collector.onResponseData(c, Buffer.from('abc'));
    collector.onResponseData(c, Buffer.from('defgh'));
    collector.onResponseEnd();
    expect(settled()?.response?.body.toString()).toBe('abcd');
  });

  it('aborted before it reached a connection: rejects at once, and aborts the request once it starts', () => {
    const { collector, settled } = collect();
    const reason = new Error('attempt timeout');
    collector.abort(reason);
    expect(settled()?.error).toBe(reason);
    const c = controller();
    collector.onRequestStart(c);
    expect(c.abortedWith).toBe(reason);
  });

  it('aborted in flight: aborts the request, rejects once, with the error undici reports', () => {
    const { collector, settled } = collect();
    const c = controller();
    collector.onRequestStart(c);
    const reason = new Error('attempt timeout');
    collector.abort(reason);
    expect(c.abortedWith).toBe(reason);
    expect(settled()).toBeUndefined();
    collector.onResponseError(c, reason);
    collector.onResponseEnd();
    expect(settled()?.error).toBe(reason);
  });
});
