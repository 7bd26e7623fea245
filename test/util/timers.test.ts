import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sleep, TimeoutError, withTimeout } from '../../src/util/timers.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('withTimeout', () => {
  it('settles as the promise does when it is in time, and clears its timer', async () => {
    await expect(withTimeout(Promise.resolve(7), 100)).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error('no')), 100)).rejects.toThrow('no');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with a TimeoutError carrying the message once the time is up', async () => {
    const result = withTimeout(new Promise(() => {}), 100, 'no answer within 0.1 s');
    const settled = expect(result).rejects.toThrow(new TimeoutError('no answer within 0.1 s'));
    await vi.advanceTimersByTimeAsync(100);
    await settled;
  });

  it('a deadline already past rejects at once', async () => {
    const result = withTimeout(new Promise(() => {}), -5);
    const settled = expect(result).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(0);
    await settled;
  });
});

describe('sleep', () => {
  it('resolves after the time, or at once when the signal aborts', async () => {
    let done = false;
    void sleep(100).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(99);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);

    const controller = new AbortController();
    let woken = false;
    void sleep(10_000, controller.signal).then(() => (woken = true));
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(woken).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});
