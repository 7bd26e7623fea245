import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Ordering } from '../../src/config/settings.js';
import { Scheduler } from '../../src/dispatch/scheduler.js';
import type { KafkaRecord } from '../../src/source/record.js';
import { rec } from '../helpers/records.js';

// The scheduler's ordering invariants under generated histories: records arriving in batches on
// several partitions and keys, finishing in any order, partitions revoked (and given back) while
// records run, rebalance holds. After every step: no lane and no ordered partition has two records
// running, the caps hold, a lane starts its records in offset order, nothing starts while held,
// nothing dropped ever starts; at the end every record kept has run exactly once.

type Step =
  | { kind: 'submit'; partition: number; count: number; keys: number }
  | { kind: 'finish'; pick: number }
  | { kind: 'drop'; partition: number }
  | { kind: 'hold' }
  | { kind: 'release' };

const PARTITIONS = 3;
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('submit' as const),
      partition: fc.nat(PARTITIONS - 1),
      count: fc.integer({ min: 1, max: 6 }),
      keys: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('finish' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), partition: fc.nat(PARTITIONS - 1) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'hold' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'release' as const }) },
);

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

async function play(ordering: Ordering, maxInFlight: number, maxInFlightPerPartition: number, steps: Step[]): Promise<void> {
  const running: Array<{ record: KafkaRecord; done: () => void }> = [];
  const runs = new Map<KafkaRecord, number>();
  const dropped = new Set<KafkaRecord>();
  const live = new Set<KafkaRecord>();
  /** Highest offset started per lane since the lane's partition was last revoked. */
  const laneTop = new Map<string, number>();
  const nextOffset = new Array<number>(PARTITIONS).fill(0);
  let held = false;
  const lane = (r: KafkaRecord) =>
    ordering === 'ordered' ? `${r.partition}` : ordering === 'key' ? `${r.partition}/${r.key!.toString()}` : undefined;
  const scheduler = new Scheduler({
    ordering,
    maxInFlight,
    maxInFlightPerPartition,
    run: (record) => {
      expect(held, 'a record started while the scheduler was held').toBe(false);
      expect(dropped.has(record), `a dropped record started: p${record.partition}@${record.offset}`).toBe(false);
      runs.set(record, (runs.get(record) ?? 0) + 1);
      const l = lane(record);
      if (l !== undefined) {
        expect(
          running.some((r) => lane(r.record) === l),
          `two records of lane ${l} running`,
        ).toBe(false);
        expect(record.offset, `lane ${l} started ${record.offset} after ${laneTop.get(l)}`).toBeGreaterThan(laneTop.get(l) ?? -1);
        laneTop.set(l, record.offset);
      }
      return new Promise<void>((resolve) => running.push({ record, done: resolve }));
    },
  });
  const check = () => {
    expect(running.length).toBeLessThanOrEqual(maxInFlight);
    const cap = ordering === 'ordered' ? 1 : maxInFlightPerPartition;
    for (let p = 0; p < PARTITIONS; p++) expect(running.filter((r) => r.record.partition === p).length).toBeLessThanOrEqual(cap);
    expect(scheduler.running).toBe(running.length);
  };
  const finish = async (index: number) => {
    const [r] = running.splice(index, 1);
    r!.done();
    live.delete(r!.record);
    await flush();
  };

  for (const s of steps) {
    switch (s.kind) {
      case 'submit':
        for (let i = 0; i < s.count; i++) {
          const record = rec('t', s.partition, nextOffset[s.partition]!++, `k${i % s.keys}`);
          live.add(record);
          scheduler.submit(record);
        }
        break;
      case 'finish':
        if (running.length > 0) await finish(s.pick % running.length);
        break;
      case 'drop':
        for (const r of live) if (r.partition === s.partition && !running.some((x) => x.record === r)) dropped.add(r);
        for (const r of dropped) live.delete(r);
        scheduler.dropPartition('t', s.partition);
        // The next owner's records of this partition start a new history.
        for (const key of [...laneTop.keys()]) if (key.split('/')[0] === String(s.partition)) laneTop.delete(key);
        break;
      case 'hold':
        held = true;
        scheduler.hold();
        break;
      case 'release':
        held = false;
        scheduler.release();
        break;
    }
    check();
  }
  held = false;
  scheduler.release();
  while (running.length > 0) await finish(0);
  await scheduler.idle();
  for (const r of live) expect(runs.get(r), `p${r.partition}@${r.offset} ran`).toBe(1);
  for (const [r, n] of runs) expect(n, `p${r.partition}@${r.offset} ran twice`).toBe(1);
  expect(scheduler.queuedOrRunning).toBe(0);
}

describe('scheduler invariants over generated histories', () => {
  for (const ordering of ['ordered', 'key', 'unordered'] as const) {
    it(`${ordering}: caps, lane order, holds and revocations`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 5 }),
          fc.integer({ min: 1, max: 3 }),
          fc.array(step, { maxLength: 60 }),
          (maxInFlight, perPartition, steps) => play(ordering, maxInFlight, perPartition, steps),
        ),
        { numRuns: 300 },
      );
    });
  }
});
