import { describe, it, expect, vi, afterEach } from 'vitest';
import { pino } from 'pino';
import { OffsetManager, type TopicPartitionOffset } from '../../src/offsets/offset-manager.js';
import { rec } from '../helpers/records.js';

const logger = pino({ level: 'silent' });

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A commit function that records its calls; answers at once unless told otherwise. */
function recorder() {
  const calls: TopicPartitionOffset[][] = [];
  const commit = vi.fn(async (offsets: TopicPartitionOffset[]) => {
    calls.push(offsets.map((o) => ({ ...o })));
  });
  return { calls, commit };
}

const sortOffsets = (offsets: TopicPartitionOffset[]) =>
  [...offsets].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);

afterEach(() => {
  vi.useRealTimers();
});

describe('OffsetManager', () => {
  it('commits nothing before anything finished', async () => {
    const { calls, commit } = recorder();
    const manager = new OffsetManager({ commit, intervalMs: 1000, logger });
    manager.register(rec('t', 0, 0));
    await manager.commit();
    expect(calls).toEqual([]);
    expect(manager.committedOffsets()).toEqual([]);
  });

  it('commits {topic, partition, offset: String(next)} per partition, only the contiguous finished prefix', async () => {
    const { calls, commit } = recorder();
    const manager = new OffsetManager({ commit, intervalMs: 1000, logger });
    for (const o of [0, 1, 2]) manager.register(rec('t', 0, o));
    for (const o of [10, 15]) manager.register(rec('t', 1, o));
    manager.register(rec('u', 0, 7));
    manager.onFinished(rec('t', 0, 0));
    manager.onFinished(rec('t', 0, 2)); // 1 still running
    manager.onFinished(rec('t', 1, 15)); // 10 still running
    manager.onFinished(rec('u', 0, 7));
    await manager.commit();
    expect(calls).toHaveLength(1);
    expect(sortOffsets(calls[0]!)).toEqual([
      { topic: 't', partition: 0, offset: '1' },
      { topic: 'u', partition: 0, offset: '8' },
    ]);
    manager.onFinished(rec('t', 0, 1));
    manager.onFinished(rec('t', 1, 10));
    await manager.commit();
    expect(sortOffsets(calls[1]!)).toEqual([
      { topic: 't', partition: 0, offset: '3' },
      { topic: 't', partition: 1, offset: '16' },
    ]);
    expect(sortOffsets(manager.committedOffsets())).toEqual([
      { topic: 't', partition: 0, offset: '3' },
      { topic: 't', partition: 1, offset: '16' },
      { topic: 'u', partition: 0, offset: '8' },
    ]);
  });

  it('does not call commit again when nothing changed', async () => {
    const { calls, commit } = recorder();
    const manager = new OffsetManager({ commit, intervalMs: 1000, logger });
    manager.register(rec('t', 0, 0));
    manager.onFinished(rec('t', 0, 0));
    await manager.commit();
    await manager.commit();
    await manager.commit();
    expect(calls).toEqual([[{ topic: 't', partition: 0, offset: '1' }]]);
    // A change in one partition commits only that one.
    manager.register(rec('t', 1, 0));
    manager.onFinished(rec('t', 1, 0));
    await manager.commit();
    expect(calls[1]).toEqual([{ topic: 't', partition: 1, offset: '1' }]);
  });

  it('refuses a record registered twice', () => {
    const { commit } = recorder();
    const manager = new OffsetManager({ commit, intervalMs: 1000, logger });
    expect(manager.register(rec('t', 0, 3))).toBe(true);
    expect(manager.register(rec('t', 0, 3))).toBe(false);
    expect(manager.register(rec('t', 0, 2))).toBe(false);
    expect(manager.register(rec('t', 1, 3))).toBe(true);
    expect(manager.unfinished()).toBe(2);
  });

  it('commits periodically once started, only when something changed, and not after stop', async () => {
    vi.useFakeTimers();
    const { calls, commit } = recorder();
    const manager = new OffsetManager({ commit, intervalMs: 5000, logger });
    manager.start();
    manager.register(rec('t', 0, 0));
    manager.register(rec('t', 0, 1));
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toEqual([]);
    manager.onFinished(rec('t', 0, 0));
    await vi.advanceTimersByTimeAsync(4999);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([[{ topic: 't', partition: 0, offset: '1' }]]);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(calls).toHaveLength(1);
    manager.onFinished(rec('t', 0, 1));
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls[1]).toEqual([{ topic: 't', partition: 0, offset: '2' }]);
    manager.stop();
    manager.register(rec('t', 0, 2));
    manager.onFinished(rec('t', 0, 2));
    await vi.advanceTimersByTimeAsync(20_000);
    expect(calls).toHaveLength(2);
  });

  it('a failing periodic commit does not stop the timer and is retried on the next tick', async () => {
    vi.useFakeTimers();
    const calls: TopicPartitionOffset[][] = [];
    let fail = true;
    const commit = vi.fn(async (offsets: TopicPartitionOffset[]) => {
      calls.push(offsets);
      if (fail) throw new Error('coordinator not available');
    });
    const manager = new OffsetManager({ commit, intervalMs: 1000, logger });
    manager.start();
    manager.register(rec('t', 0, 0));
    manager.onFinished(rec('t', 0, 0));
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(1);
    fail = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(2);
    expect(calls[1]).toEqual([{ topic: 't', partition: 0, offset: '1' }]);
    await vi.advanceTimersByTimeAsync(3000);
    expect(calls).toHaveLength(2);
    manager.stop();
  });

  it('serialises commits: the next one starts after the previous one settled, and never goes backwards', async () => {
    const gates: Deferred[] = [];
    const calls: TopicPartitionOffset[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const commit = async (offsets: TopicPartitionOffset[]) => {
      calls.push(offsets);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const gate = deferred();
      gates.push(gate);
      try {
        await gate.promise;
      } finally {
        inFlight--;
      }
    };
    const manager = new OffsetManager({ commit, intervalMs: 1000, logger });
    for (const o of [0, 1, 2]) manager.register(rec('t', 0, o));
    manager.onFinished(rec('t', 0, 0));
    const first = manager.commit();
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    manager.onFinished(rec('t', 0, 1));
    const second = manager.commit();
    manager.onFinished(rec('t', 0, 2));
    const third = manager.commit();
    // Nothing else starts while the first is open.
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toHaveLength(1);
    gates[0]!.resolve();
    await first;
    await vi.waitFor(() => expect(calls).toHaveLength(2));
    expect(calls[1]).toEqual([{ topic: 't', partition: 0, offset: '3' }]);
    gates[1]!.resolve();
    await second;
    await third;
    // The third had nothing new to commit.
    expect(calls).toHaveLength(2);
    expect(maxInFlight).toBe(1);
    expect(calls.map((c) => Number(c[0]!.offset))).toEqual([1, 3]);
  });

  it('a failed commit rejects, and the same offsets are sent again on the next call', async () => {
    const calls: TopicPartitionOffset[][] = [];
    let fail = true;
    const commit = async (offsets: TopicPartitionOffset[]) => {
      calls.push(offsets);
      if (fail) throw new Error('rebalance in progress');
    };
    const manager = new OffsetManager({ commit, intervalMs: 1000, logger });
    manager.register(rec('t', 0, 0));
    manager.onFinished(rec('t', 0, 0));
    await expect(manager.commit()).rejects.toThrow('rebalance in progress');
    expect(manager.committedOffsets()).toEqual([]);
    fail = false;
    await manager.commit();
    expect(calls).toEqual([[{ topic: 't', partition: 0, offset: '1' }], [{ topic: 't', partition: 0, offset: '1' }]]);
    expect(manager.committedOffsets()).toEqual([{ topic: 't', partition: 0, offset: '1' }]);
    await manager.commit();
    expect(calls).toHaveLength(2);
  });

  it('a commit queued behind a failing one still runs', async () => {
    const calls: TopicPartitionOffset[][] = [];
    const gate = deferred();
    let n = 0;
    const commit = async (offsets: TopicPartitionOffset[]) => {
      calls.push(offsets);
      if (n++ === 0) await gate.promise;
    };
    const manager = new OffsetManager({ commit, intervalMs: 1000, logger });
    manager.register(rec('t', 0, 0));
    manager.onFinished(rec('t', 0, 0));
    const first = manager.commit();
    const second = manager.commit();
    gate.reject(new Error('boom'));
    await expect(first).rejects.toThrow('boom');
    await second;
    expect(calls).toHaveLength(2);
    expect(manager.committedOffsets()).toEqual([{ topic: 't', partition: 0, offset: '1' }]);
  });

  it('forget(): late completions of a revoked partition are ignored and nothing is committed for it', async () => {
    const { calls, commit } = recorder();
    const manager = new OffsetManager({ commit, intervalMs: 1000, logger });
    for (const o of [0, 1, 2]) {
      manager.register(rec('t', 0, o));
      manager.register(rec('t', 1, o));
    }
    manager.onFinished(rec('t', 0, 0));
    manager.onFinished(rec('t', 1, 0));
    await manager.commit();
    expect(sortOffsets(calls[0]!)).toEqual([
      { topic: 't', partition: 0, offset: '1' },
      { topic: 't', partition: 1, offset: '1' },
    ]);
    manager.forget([{ topic: 't', partition: 0 }]);
    expect(manager.unfinished()).toBe(2); // t/1: offsets 1 and 2
    // Late news for t/0 after the revoke.
    manager.onFinished(rec('t', 0, 1));
    manager.onFinished(rec('t', 0, 2));
    manager.onFinished(rec('t', 1, 1));
    await manager.commit();
    expect(calls).toHaveLength(2);
    expect(calls[1]).toEqual([{ topic: 't', partition: 1, offset: '2' }]);
    expect(manager.committedOffsets()).toEqual([{ topic: 't', partition: 1, offset: '2' }]);
    await manager.commit();
    expect(calls).toHaveLength(2);
  });

  it('forget() of a partition never seen, or twice, is harmless', async () => {
    const { calls, commit } = recorder();
    const manager = new OffsetManager({ commit, intervalMs: 1000, logger });
    manager.forget([{ topic: 'x', partition: 9 }]);
    manager.register(rec('t', 0, 0));
    manager.forget([{ topic: 't', partition: 0 }]);
    manager.forget([{ topic: 't', partition: 0 }]);
    manager.onFinished(rec('t', 0, 0));
    await manager.commit();
    expect(calls).toEqual([]);
    expect(manager.unfinished()).toBe(0);
  });

  it('a partition assigned again after forget() starts fresh', async () => {
    const { calls, commit } = recorder();
    const manager = new OffsetManager({ commit, intervalMs: 1000, logger });
    manager.register(rec('t', 0, 5));
    manager.onFinished(rec('t', 0, 5));
    await manager.commit();
    manager.forget([{ topic: 't', partition: 0 }]);
    // The new assignment resumes from the committed offset, 6, or even re-delivers 5.
    expect(manager.register(rec('t', 0, 5))).toBe(true);
    manager.onFinished(rec('t', 0, 5));
    await manager.commit();
    expect(calls).toEqual([[{ topic: 't', partition: 0, offset: '6' }], [{ topic: 't', partition: 0, offset: '6' }]]);
  });

  it('counts unfinished records across partitions', () => {
    const { commit } = recorder();
    const manager = new OffsetManager({ commit, intervalMs: 1000, logger });
    for (const o of [0, 1, 5, 9]) manager.register(rec('t', 0, o));
    for (const o of [3, 4]) manager.register(rec('t', 1, o));
    expect(manager.unfinished()).toBe(6);
    manager.onFinished(rec('t', 0, 5));
    manager.onFinished(rec('t', 1, 3));
    expect(manager.unfinished()).toBe(4);
  });
});
