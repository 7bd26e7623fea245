import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OffsetTracker } from '../../src/offsets/offset-tracker.js';

// The tracker against a model, over generated histories: offsets received in ascending order with
// gaps (compaction, transaction markers), re-fetched ranges, and records finishing in any order.
// At every step the committable offset is the one after the longest run of finished records in the
// order received: never past a record received and unfinished, never backwards.

type Step = { kind: 'receive'; gap: number; count: number } | { kind: 'refetch'; back: number } | { kind: 'finish'; pick: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('receive' as const), gap: fc.nat(3), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('refetch' as const), back: fc.nat(10) }),
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('finish' as const), pick: fc.nat() }) },
);

describe('OffsetTracker over generated histories', () => {
  it('commits exactly the finished prefix of what was received, monotonically', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.array(step, { maxLength: 300 }), (start, steps) => {
        const tracker = new OffsetTracker();
        const received: number[] = [];
        const finished = new Set<number>();
        let next = start;
        let lastCommittable: number | undefined;
        for (const s of steps) {
          if (s.kind === 'receive') {
            next += s.gap;
            for (let i = 0; i < s.count; i++) {
              expect(tracker.register(next, next * 10)).toBe(true);
              received.push(next++);
            }
          } else if (s.kind === 'refetch') {
            // A rebalance that kept the partition re-fetches from the committed offset: nothing twice.
            const from = Math.max(start, next - 1 - s.back);
            for (let offset = from; offset < next; offset++) expect(tracker.register(offset)).toBe(false);
          } else {
            const open = received.filter((o) => !finished.has(o));
            if (open.length === 0) continue;
            const offset = open[s.pick % open.length]!;
            finished.add(offset);
            tracker.finish(offset);
            // A repeated report (a redelivery finishing) changes nothing.
            if (s.pick % 5 === 0) tracker.finish(offset);
          }
          const firstOpen = received.findIndex((o) => !finished.has(o));
          const prefixEnd = firstOpen < 0 ? received.length : firstOpen;
          const expected = prefixEnd === 0 ? undefined : received[prefixEnd - 1]! + 1;
          const committable = tracker.committable();
          expect(committable).toBe(expected);
          if (lastCommittable !== undefined) expect(committable!).toBeGreaterThanOrEqual(lastCommittable);
          lastCommittable = committable;
          expect(tracker.unfinished).toBe(received.length - finished.size);
          expect(tracker.oldestUnfinished()).toBe(firstOpen < 0 ? undefined : received[firstOpen]);
          expect(tracker.oldestUnfinishedTimestamp()).toBe(firstOpen < 0 ? undefined : received[firstOpen]! * 10);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps its answer across the compaction of a long history', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1100, max: 5000 }), fc.nat(50), (count, holdBack) => {
        const tracker = new OffsetTracker();
        for (let o = 0; o < count; o++) tracker.register(o);
        // Everything but one record near the end finishes in order, then that one finishes last.
        const late = count - 1 - Math.min(holdBack, count - 1);
        for (let o = 0; o < count; o++) if (o !== late) tracker.finish(o);
        expect(tracker.committable()).toBe(late === 0 ? undefined : late);
        expect(tracker.unfinished).toBe(1);
        tracker.finish(late);
        expect(tracker.committable()).toBe(count);
        expect(tracker.unfinished).toBe(0);
      }),
      { numRuns: 50 },
    );
  });
});
