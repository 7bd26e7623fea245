import { describe, expect, it } from 'vitest';
import { encodeRaw } from '../../src/dispatch/encode.js';
import type { DispatchResult } from '../../src/dispatch/outcome.js';
import { RecordDispatcher } from '../../src/dispatch/record-dispatcher.js';
import { isUnavailable, SinkRecovery } from '../../src/dispatch/sink-recovery.js';
import { SinkResponseError, SinkTransportError } from '../../src/errors.js';
import { FakeSender } from '../helpers/fake-sender.js';
import { rec } from '../helpers/records.js';

const answered = { target: 'sink' as const, durationMs: 1, status: 200 };
const unavailable = { target: 'sink' as const, durationMs: 1, status: 503 };
const record = rec('t', 0, 0);

describe('isUnavailable: the failures that say nobody can answer yet', () => {
  const transport = (code: string) =>
    new SinkTransportError(`failed: ${code}`, { timedOut: false, cause: Object.assign(new Error(code), { code }) });

  it('timeouts, refused, reset or unreachable connections and 429/502/503/504 are; a 500, a certificate that does not verify, an unknown host are not', () => {
    expect(isUnavailable(new SinkTransportError('no answer', { timedOut: true }))).toBe(true);
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'UND_ERR_SOCKET'])
      expect(isUnavailable(transport(code)), code).toBe(true);
    for (const status of [429, 502, 503, 504])
      expect(isUnavailable(new SinkResponseError(status, Buffer.alloc(0), true)), String(status)).toBe(true);
    for (const code of [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'ENOTFOUND',
      'HPE_INVALID_CONSTANT',
    ])
      expect(isUnavailable(transport(code)), code).toBe(false);
    expect(isUnavailable(new SinkResponseError(500, Buffer.alloc(0), true))).toBe(false);
  });
});

describe('SinkRecovery: the sink circuit', () => {
  const failure = {
    target: 'sink' as const,
    durationMs: 1,
    status: undefined,
    error: new SinkTransportError('connect ECONNREFUSED', {
      timedOut: false,
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    }),
  };

  it('is down after an unavailability failure with no answer for a probe interval; then the longest-waiting retry probes, one per interval', async () => {
    const changes: Array<[boolean, number]> = [];
    const recovery = new SinkRecovery({ probeIntervalMs: 20, onChange: (down, waiting) => changes.push([down, waiting]) });
    recovery.onAttempt(record, failure);
    const first = recovery.wait(60_000);
    const second = recovery.wait(60_000);
    expect(await first).toBe('probe');
    expect(recovery.isDown).toBe(true);
    expect(recovery.waiting).toBe(1);
    expect(await second).toBe('probe');
    expect(changes).toEqual([[true, 2]]);
  });

  it('a sink that keeps answering others is not down, whatever a few records get: they keep their own backoff', async () => {
    const recovery = new SinkRecovery({ probeIntervalMs: 20 });
    const wait = recovery.wait(150);
    for (let i = 0; i < 6; i++) {
      recovery.onAttempt(record, unavailable);
      recovery.onAttempt(record, unavailable);
      recovery.onAttempt(record, answered);
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    expect(await wait).toBe('elapsed');
    expect(recovery.isDown).toBe(false);
  });

  it("a 500 is an answer, the record's own failure: the sink is up and waits elapse", async () => {
    const recovery = new SinkRecovery({ probeIntervalMs: 20 });
    for (let i = 0; i < 5; i++) recovery.onAttempt(record, { target: 'sink', durationMs: 1, status: 500 });
    expect(await recovery.wait(100)).toBe('elapsed');
    expect(recovery.isDown).toBe(false);
  });

  it('while down, a wait goes on past its time: it ends with a probe or the recovery', async () => {
    const recovery = new SinkRecovery({ probeIntervalMs: 20 });
    recovery.onAttempt(record, unavailable);
    expect(await recovery.wait(60_000)).toBe('probe');
    expect(recovery.isDown).toBe(true);
    const short = recovery.wait(1);
    const probe = recovery.wait(1);
    expect(await short).toBe('probe');
    recovery.onAttempt(record, answered);
    expect(await probe).toBe('recovered');
  });

  it('hold: at once when the sink answered within the interval; else held until the circuit has judged', async () => {
    const recovery = new SinkRecovery({ probeIntervalMs: 20 });
    recovery.onAttempt(record, answered);
    expect(await recovery.hold()).toBe('elapsed');
    await new Promise((resolve) => setTimeout(resolve, 30));
    recovery.onAttempt(record, unavailable);
    expect(await recovery.hold()).toBe('probe');
  });

  it('a non-retriable answer (400) is an answer: the sink is up', async () => {
    const recovery = new SinkRecovery({ probeIntervalMs: 20 });
    recovery.onAttempt(record, unavailable);
    recovery.onAttempt(record, unavailable);
    const wait = recovery.wait(60_000);
    expect(await wait).toBe('probe');
    const woken = recovery.wait(60_000);
    recovery.onAttempt(record, { target: 'sink', durationMs: 1, status: 400 });
    expect(recovery.isDown).toBe(false);
    expect(await woken).toBe('recovered');
  });

  it('dead-letter attempts do not move it', async () => {
    const recovery = new SinkRecovery({ probeIntervalMs: 20 });
    recovery.onAttempt(record, { target: 'dead-letter', durationMs: 1, status: 503 });
    recovery.onAttempt(record, { target: 'dead-letter', durationMs: 1, status: 503 });
    expect(await recovery.wait(100)).toBe('elapsed');
  });

  it('the first answer after an outage wakes every waiting retry at once', async () => {
    const recovery = new SinkRecovery({ probeIntervalMs: 20 });
    recovery.onAttempt(record, unavailable);
    recovery.onAttempt(record, unavailable);
    const probe = recovery.wait(60_000);
    const waits = [recovery.wait(60_000), recovery.wait(60_000)];
    expect(await probe).toBe('probe');
    recovery.onAttempt(record, answered);
    expect(await Promise.all(waits)).toEqual(['recovered', 'recovered']);
  });

  it('an aborted wait ends at once', async () => {
    const recovery = new SinkRecovery();
    const controller = new AbortController();
    const wait = recovery.wait(60_000, controller.signal);
    controller.abort();
    expect(await wait).toBe('aborted');
    expect(recovery.waiting).toBe(0);
  });
});

describe('RecordDispatcher with the sink circuit: delivery resumes within a probe interval of the sink coming back', () => {
  /** A sink answering 503 until `upAt`, then 200. */
  const sinkBackAt = (upAt: number) =>
    new FakeSender([
      () => (Date.now() < upAt ? { status: 503, headers: {}, body: Buffer.alloc(0) } : { status: 200, headers: {}, body: Buffer.alloc(0) }),
    ]);

  interface Against {
    signal?: AbortSignal;
    /** Knative's default: 10 retries, exponential from 0.3 s (waits 0.6, 1.2, 2.4 s ... 153.6 s). */
    retry?: number;
    /** A fixed backoff of this many ms instead. */
    fixedBackoffMs?: number;
    /** The cold-start hold (sinkHold) besides the circuit's waits. */
    hold?: boolean;
  }

  function dispatcherAgainst(sender: FakeSender, recovery: SinkRecovery | undefined, finished: DispatchResult[], against: Against = {}) {
    return new RecordDispatcher({
      sender,
      encode: encodeRaw,
      sinkUri: 'http://sink/',
      retry: against.retry ?? 10,
      backoffPolicy: against.fixedBackoffMs === undefined ? 'exponential' : 'fixed',
      backoffDelayMs: against.fixedBackoffMs ?? 300,
      listener: {
        onFinished: (_r, result) => finished.push(result),
        ...(recovery ? { onAttempt: (r, a) => recovery.onAttempt(r, a) } : {}),
      },
      ...(recovery ? { sinkWait: (ms: number, signal: AbortSignal | undefined) => recovery.wait(ms, signal) } : {}),
      ...(recovery && against.hold ? { sinkHold: (signal: AbortSignal | undefined) => recovery.hold(signal) } : {}),
      ...(against.signal ? { signal: against.signal } : {}),
    });
  }

  it('a record failing from 0 to 2 s (its retries at 0.6, 1.8 and 4.2 s) is delivered within a probe interval of the sink answering again', async () => {
    const upAt = Date.now() + 2000;
    const sender = sinkBackAt(upAt);
    const recovery = new SinkRecovery({ probeIntervalMs: 100 });
    const finished: DispatchResult[] = [];
    const result = await dispatcherAgainst(sender, recovery, finished).dispatch(record);
    expect(result?.outcome).toBe('delivered');
    expect(Date.now() - upAt).toBeLessThan(1000);
    expect(sender.sinkCalls.length).toBeGreaterThan(3);
  });

  it('without the circuit, the same record waits out its backoff: nothing by 3 s (what the circuit fixes)', async () => {
    const finished: DispatchResult[] = [];
    const controller = new AbortController();
    const dispatcher = dispatcherAgainst(sinkBackAt(Date.now() + 2000), undefined, finished, { signal: controller.signal });
    const dispatched = dispatcher.dispatch(record);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(finished).toEqual([]);
    controller.abort();
    expect(await dispatched).toBeUndefined();
  });

  it('the retry count still gives a record up when the sink answers it with a failure: 500 after its retries, skipped', async () => {
    const sender = new FakeSender([500]);
    const recovery = new SinkRecovery({ probeIntervalMs: 10 });
    const result = await dispatcherAgainst(sender, recovery, [], { retry: 3, fixedBackoffMs: 30, hold: true }).dispatch(record);
    expect(result?.outcome).toBe('skipped');
    expect(result!.attempts).toBe(4);
  });

  it('a sink unavailable as a whole costs no record its retries: with no retries at all, a record held through a 503 outage is delivered, not skipped', async () => {
    const sender = sinkBackAt(Date.now() + 500);
    const recovery = new SinkRecovery({ probeIntervalMs: 50 });
    const result = await dispatcherAgainst(sender, recovery, [], { retry: 0, fixedBackoffMs: 10, hold: true }).dispatch(record);
    expect(result?.outcome).toBe('delivered');
    // Held: about one probe per interval, not a retry storm.
    expect(sender.sinkCalls.length).toBeLessThan(30);
  });

  it('without the hold, the same record with no retries is skipped at its first 503 (what the hold fixes)', async () => {
    const recovery = new SinkRecovery({ probeIntervalMs: 50 });
    const result = await dispatcherAgainst(sinkBackAt(Date.now() + 500), recovery, [], { retry: 0, fixedBackoffMs: 10 }).dispatch(record);
    expect(result?.outcome).toBe('skipped');
  });
});
