import { describe, it, expect } from 'vitest';
import { OffsetTracker } from '../../src/offsets/offset-tracker.js';
import { prng } from '../helpers/prng.js';

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  const random = prng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function trackerWith(offsets: number[]): OffsetTracker {
  const tracker = new OffsetTracker();
  for (const o of offsets) expect(tracker.register(o)).toBe(true);
  return tracker;
}

describe('OffsetTracker', () => {
  it('has nothing committable, nothing unfinished at start', () => {
    const tracker = new OffsetTracker();
    expect(tracker.committable()).toBeUndefined();
    expect(tracker.unfinished).toBe(0);
    expect(tracker.oldestUnfinished()).toBeUndefined();
  });

  it('nothing committable while only registered', () => {
    const tracker = trackerWith([0, 1, 2]);
    expect(tracker.committable()).toBeUndefined();
    expect(tracker.unfinished).toBe(3);
    expect(tracker.oldestUnfinished()).toBe(0);
  });

  // Each row: offsets received, offsets finished in this order, committable after each finish.
  const TABLE: ReadonlyArray<[name: string, received: number[], finished: number[], committable: Array<number | undefined>]> = [
    ['in order', [0, 1, 2], [0, 1, 2], [1, 2, 3]],
    ['reverse order', [0, 1, 2], [2, 1, 0], [undefined, undefined, 3]],
    ['middle first', [0, 1, 2, 3], [1, 0, 3, 2], [undefined, 2, 2, 4]],
    ['gaps 0,1,5,9 in order', [0, 1, 5, 9], [0, 1, 5, 9], [1, 2, 6, 10]],
    ['gaps 0,1,5,9 out of order', [0, 1, 5, 9], [5, 9, 1, 0], [undefined, undefined, undefined, 10]],
    ['gap after the head', [0, 1, 5, 9], [0, 5, 1], [1, 1, 6]],
    ['starting past 0 (a committed group)', [100, 101, 102], [101, 100], [undefined, 102]],
    ['compaction-style gaps', [7, 20, 21, 400], [20, 7, 400, 21], [undefined, 21, 21, 401]],
  ];

  it.each(TABLE)('%s', (_name, received, finished, expected) => {
    const tracker = trackerWith(received);
    const actual = finished.map((o) => {
      tracker.finish(o);
      return tracker.committable();
    });
    expect(actual).toEqual(expected);
  });

  it('commits to last + 1 after a gap, never to an offset in the gap', () => {
    const tracker = trackerWith([0, 1, 5, 9]);
    tracker.finish(0);
    tracker.finish(1);
    expect(tracker.committable()).toBe(2);
    tracker.finish(5);
    expect(tracker.committable()).toBe(6);
  });

  it('refuses duplicates and anything at or below the last registered offset', () => {
    const tracker = new OffsetTracker();
    expect(tracker.register(5)).toBe(true);
    expect(tracker.register(5)).toBe(false);
    expect(tracker.register(4)).toBe(false);
    expect(tracker.register(0)).toBe(false);
    expect(tracker.register(6)).toBe(true);
    expect(tracker.unfinished).toBe(2);
    // Also after the offset finished and was committed.
    tracker.finish(5);
    tracker.finish(6);
    expect(tracker.register(6)).toBe(false);
    expect(tracker.register(7)).toBe(true);
    expect(tracker.committable()).toBe(7);
  });

  it('ignores finishing an offset that was never registered, or twice', () => {
    const tracker = trackerWith([0, 2]);
    tracker.finish(1);
    tracker.finish(3);
    expect(tracker.committable()).toBeUndefined();
    expect(tracker.unfinished).toBe(2);
    tracker.finish(0);
    tracker.finish(0);
    expect(tracker.committable()).toBe(1);
    expect(tracker.unfinished).toBe(1);
  });

  it('counts unfinished records and finds the oldest one', () => {
    const tracker = trackerWith([0, 1, 5, 9, 12]);
    expect([tracker.unfinished, tracker.oldestUnfinished()]).toEqual([5, 0]);
    tracker.finish(5);
    expect([tracker.unfinished, tracker.oldestUnfinished()]).toEqual([4, 0]);
    tracker.finish(0);
    expect([tracker.unfinished, tracker.oldestUnfinished()]).toEqual([3, 1]);
    tracker.finish(1);
    expect([tracker.unfinished, tracker.oldestUnfinished()]).toEqual([2, 9]);
    tracker.finish(12);
    expect([tracker.unfinished, tracker.oldestUnfinished()]).toEqual([1, 9]);
    tracker.finish(9);
    expect([tracker.unfinished, tracker.oldestUnfinished()]).toEqual([0, undefined]);
    expect(tracker.committable()).toBe(13);
  });

  it('keeps registering after everything finished', () => {
    const tracker = trackerWith([0, 1]);
    tracker.finish(0);
    tracker.finish(1);
    expect(tracker.register(2)).toBe(true);
    expect(tracker.committable()).toBe(2);
    expect(tracker.oldestUnfinished()).toBe(2);
    tracker.finish(2);
    expect(tracker.committable()).toBe(3);
  });

  it.each([1, 2, 3])('10 000 records finished in random order (seed %d) end at last + 1', (seed) => {
    const offsets = Array.from({ length: 10_000 }, (_, i) => i);
    const tracker = trackerWith(offsets);
    let previous = -1;
    for (const o of shuffled(offsets, seed)) {
      tracker.finish(o);
      const c = tracker.committable() ?? -1;
      // Never goes backwards, and never past an unfinished record.
      expect(c >= previous).toBe(true);
      const oldest = tracker.oldestUnfinished();
      if (oldest !== undefined) expect(c <= oldest).toBe(true);
      previous = c;
    }
    expect(tracker.committable()).toBe(10_000);
    expect(tracker.unfinished).toBe(0);
    expect(tracker.oldestUnfinished()).toBeUndefined();
  });

  it('10 000 records with gaps, registered and finished interleaved in random windows', () => {
    const random = prng(42);
    const tracker = new OffsetTracker();
    const open: number[] = [];
    let offset = 0;
    let last = -1;
    for (let i = 0; i < 10_000; i++) {
      offset += 1 + Math.floor(random() * 3); // gaps of 0 to 2
      expect(tracker.register(offset)).toBe(true);
      last = offset;
      open.push(offset);
      // Finish a random open record now and then, keeping up to ~200 open.
      while (open.length > 0 && (open.length > 200 || random() < 0.5)) {
        const [done] = open.splice(Math.floor(random() * open.length), 1);
        tracker.finish(done!);
        const oldest = open.length > 0 ? Math.min(...open) : undefined;
        expect(tracker.oldestUnfinished()).toBe(oldest);
        if (oldest !== undefined) expect(tracker.committable() ?? -1).toBeLessThanOrEqual(oldest);
      }
      expect(tracker.unfinished).toBe(open.length);
    }
    for (const o of shuffled(open, 7)) tracker.finish(o);
    expect(tracker.committable()).toBe(last + 1);
    expect(tracker.unfinished).toBe(0);
  });
});
