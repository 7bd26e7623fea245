import { describe, it, expect } from 'vitest';
import { Scheduler, type SchedulerOptions } from '../../src/dispatch/scheduler.js';
import type { KafkaRecord } from '../../src/source/record.js';
import { prng } from '../helpers/prng.js';
import { rec } from '../helpers/records.js';

const id = (r: KafkaRecord) => `${r.topic}/${r.partition}@${r.offset}`;
const laneOf = (r: KafkaRecord) => `${r.topic}/${r.partition}#${r.key === null ? '<null>' : r.key.toString()}`;
/** Lets the scheduler's `.then(finish)` and the pump run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Running {
  record: KafkaRecord;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * A scheduler whose `run` hands back a promise the test settles by hand, and that watches the
 * concurrency it sees: overall, per partition, per key.
 */
function harness(options: Omit<SchedulerOptions, 'run'>) {
  const running: Running[] = [];
  const started: KafkaRecord[] = [];
  const perPartition = new Map<string, number>();
  const perLane = new Map<string, number>();
  const max = { overall: 0, partition: new Map<string, number>(), lane: new Map<string, number>() };
  const bump = (map: Map<string, number>, key: string, by: number) => {
    const n = (map.get(key) ?? 0) + by;
    map.set(key, n);
    return n;
  };
  const scheduler = new Scheduler({
    ...options,
    run: (record) => {
      started.push(record);
      const p = `${record.topic}/${record.partition}`;
      const l = laneOf(record);
      const np = bump(perPartition, p, 1);
      const nl = bump(perLane, l, 1);
      max.partition.set(p, Math.max(max.partition.get(p) ?? 0, np));
      max.lane.set(l, Math.max(max.lane.get(l) ?? 0, nl));
      max.overall = Math.max(max.overall, running.length + 1);
      return new Promise<void>((resolve, reject) => {
        const done = () => {
          running.splice(running.indexOf(entry), 1);
          bump(perPartition, p, -1);
          bump(perLane, l, -1);
        };
        const entry: Running = {
          record,
          resolve: () => {
            done();
            resolve();
          },
          reject: (error) => {
            done();
            reject(error);
          },
        };
        running.push(entry);
      });
    },
  });
  const find = (topic: string, partition: number, offset: number) => {
    const entry = running.find((r) => r.record.topic === topic && r.record.partition === partition && r.record.offset === offset);
    if (!entry) throw new Error(`${topic}/${partition}@${offset} is not running; running: ${running.map((r) => id(r.record)).join(', ')}`);
    return entry;
  };
  return {
    scheduler,
    running,
    started,
    max,
    runningIds: () => running.map((r) => id(r.record)).sort(),
    startedIds: () => started.map(id),
    async finish(topic: string, partition: number, offset: number) {
      find(topic, partition, offset).resolve();
      await flush();
    },
    async fail(topic: string, partition: number, offset: number) {
      find(topic, partition, offset).reject(new Error('sink down'));
      await flush();
    },
    /** Finishes running records in a seeded random order until nothing is queued or running. */
    async drainRandomly(seed: number, check?: () => void) {
      const random = prng(seed);
      for (let guard = 0; scheduler.queuedOrRunning > 0; guard++) {
        if (guard > 100_000) throw new Error('not draining');
        if (running.length === 0) throw new Error(`stuck: ${scheduler.queuedOrRunning} queued or running, nothing running`);
        running[Math.floor(random() * running.length)]!.resolve();
        await flush();
        check?.();
      }
    },
  };
}

/** Starts of each lane (partition, or partition+key) in the order they happened. */
function startsBy(records: KafkaRecord[], by: (r: KafkaRecord) => string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of records) {
    const k = by(r);
    out.set(k, [...(out.get(k) ?? []), r.offset]);
  }
  return out;
}
const partitionOf = (r: KafkaRecord) => `${r.topic}/${r.partition}`;
const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1]! < x);

describe('Scheduler, ordered', () => {
  it('one in flight per partition, partitions in parallel', async () => {
    const h = harness({ ordering: 'ordered', maxInFlight: 100, maxInFlightPerPartition: 50 });
    for (const o of [0, 1, 2]) {
      h.scheduler.submit(rec('t', 0, o));
      h.scheduler.submit(rec('t', 1, o));
      h.scheduler.submit(rec('u', 0, o));
    }
    expect(h.runningIds()).toEqual(['t/0@0', 't/1@0', 'u/0@0']);
    await h.finish('t', 1, 0);
    expect(h.runningIds()).toEqual(['t/0@0', 't/1@1', 'u/0@0']);
    await h.finish('t', 1, 1);
    await h.finish('t', 1, 2);
    expect(h.runningIds()).toEqual(['t/0@0', 'u/0@0']);
  });

  it.each([1, 2, 3])('keeps order within each partition whatever order runs finish in (seed %d)', async (seed) => {
    const h = harness({ ordering: 'ordered', maxInFlight: 100, maxInFlightPerPartition: 50 });
    for (let o = 0; o < 50; o++) for (let p = 0; p < 4; p++) h.scheduler.submit(rec('t', p, o * 3));
    expect(h.running).toHaveLength(4);
    await h.drainRandomly(seed);
    for (const [partition, offsets] of startsBy(h.started, partitionOf)) {
      expect(offsets, partition).toEqual(Array.from({ length: 50 }, (_, i) => i * 3));
    }
    for (const [partition, n] of h.max.partition) expect(n, partition).toBe(1);
  });

  it('ignores maxInFlightPerPartition: always one per partition', async () => {
    const h = harness({ ordering: 'ordered', maxInFlight: 100, maxInFlightPerPartition: 10 });
    for (let o = 0; o < 5; o++) h.scheduler.submit(rec('t', 0, o, `k${o}`));
    expect(h.runningIds()).toEqual(['t/0@0']);
  });

  it('a failed run releases the partition like a successful one', async () => {
    const h = harness({ ordering: 'ordered', maxInFlight: 10, maxInFlightPerPartition: 10 });
    h.scheduler.submit(rec('t', 0, 0));
    h.scheduler.submit(rec('t', 0, 1));
    await h.fail('t', 0, 0);
    expect(h.runningIds()).toEqual(['t/0@1']);
    expect(h.scheduler.queuedOrRunning).toBe(1);
  });
});

describe('Scheduler, key', () => {
  it('same key in order one at a time; different keys of one partition in parallel', async () => {
    const h = harness({ ordering: 'key', maxInFlight: 100, maxInFlightPerPartition: 10 });
    const keys = ['a', 'b', 'a', 'c', 'b', 'a'];
    keys.forEach((k, o) => h.scheduler.submit(rec('t', 0, o, k)));
    expect(h.runningIds()).toEqual(['t/0@0', 't/0@1', 't/0@3']);
    await h.finish('t', 0, 3); // c done: nothing more for c
    expect(h.runningIds()).toEqual(['t/0@0', 't/0@1']);
    await h.finish('t', 0, 0); // a → next a
    expect(h.runningIds()).toEqual(['t/0@1', 't/0@2']);
    await h.finish('t', 0, 1); // b → next b
    expect(h.runningIds()).toEqual(['t/0@2', 't/0@4']);
    await h.finish('t', 0, 2);
    expect(h.runningIds()).toEqual(['t/0@4', 't/0@5']);
  });

  it('different keys in parallel up to maxInFlightPerPartition', async () => {
    const h = harness({ ordering: 'key', maxInFlight: 100, maxInFlightPerPartition: 3 });
    for (let o = 0; o < 6; o++) h.scheduler.submit(rec('t', 0, o, `k${o}`));
    h.scheduler.submit(rec('t', 1, 0, 'k0'));
    // The cap is per partition: t/1 runs although t/0 is at its cap.
    expect(h.runningIds()).toEqual(['t/0@0', 't/0@1', 't/0@2', 't/1@0']);
    await h.finish('t', 0, 1);
    expect(h.runningIds()).toEqual(['t/0@0', 't/0@2', 't/0@3', 't/1@0']);
  });

  it('the same key in two partitions is two lanes', () => {
    const h = harness({ ordering: 'key', maxInFlight: 100, maxInFlightPerPartition: 3 });
    h.scheduler.submit(rec('t', 0, 0, 'a'));
    h.scheduler.submit(rec('t', 1, 0, 'a'));
    expect(h.running).toHaveLength(2);
  });

  it.each([1, 2, 3])('random completions keep per-key order and respect the caps (seed %d)', async (seed) => {
    const random = prng(seed + 100);
    const h = harness({ ordering: 'key', maxInFlight: 7, maxInFlightPerPartition: 3 });
    const check = () => {
      expect(h.running.length).toBeLessThanOrEqual(7);
    };
    for (let o = 0; o < 300; o++) {
      const partition = Math.floor(random() * 3);
      h.scheduler.submit(rec('t', partition, o, `k${Math.floor(random() * 5)}`));
    }
    await h.drainRandomly(seed, check);
    expect(h.started).toHaveLength(300);
    for (const [lane, offsets] of startsBy(h.started, laneOf)) expect(ascending(offsets), lane).toBe(true);
    for (const [lane, n] of h.max.lane) expect(n, lane).toBe(1);
    for (const [partition, n] of h.max.partition) expect(n, partition).toBeLessThanOrEqual(3);
    expect(h.max.overall).toBeLessThanOrEqual(7);
  });

  it('null keys share one lane per partition by default', async () => {
    const h = harness({ ordering: 'key', maxInFlight: 100, maxInFlightPerPartition: 10 });
    for (let o = 0; o < 3; o++) h.scheduler.submit(rec('t', 0, o, null));
    h.scheduler.submit(rec('t', 0, 3, 'a'));
    h.scheduler.submit(rec('t', 1, 0, null));
    expect(h.runningIds()).toEqual(['t/0@0', 't/0@3', 't/1@0']);
    await h.finish('t', 0, 0);
    expect(h.runningIds()).toEqual(['t/0@1', 't/0@3', 't/1@0']);
  });

  it("nullKeys: 'partition' is the same as the default", () => {
    const h = harness({ ordering: 'key', maxInFlight: 100, maxInFlightPerPartition: 10, nullKeys: 'partition' });
    for (let o = 0; o < 3; o++) h.scheduler.submit(rec('t', 0, o, null));
    expect(h.runningIds()).toEqual(['t/0@0']);
  });

  it("a key whose text is 'null' is not the null key", () => {
    const h = harness({ ordering: 'key', maxInFlight: 100, maxInFlightPerPartition: 10 });
    h.scheduler.submit(rec('t', 0, 0, null));
    h.scheduler.submit(rec('t', 0, 1, 'null'));
    h.scheduler.submit(rec('t', 0, 2, ''));
    expect(h.runningIds()).toEqual(['t/0@0', 't/0@1', 't/0@2']);
  });

  it("nullKeys: 'unordered' runs null-key records in parallel up to the partition cap", async () => {
    const h = harness({ ordering: 'key', maxInFlight: 100, maxInFlightPerPartition: 3, nullKeys: 'unordered' });
    for (let o = 0; o < 5; o++) h.scheduler.submit(rec('t', 0, o, null));
    expect(h.runningIds()).toEqual(['t/0@0', 't/0@1', 't/0@2']);
    await h.finish('t', 0, 1);
    expect(h.runningIds()).toEqual(['t/0@0', 't/0@2', 't/0@3']);
    // Keyed records are still one at a time per key.
    h.scheduler.submit(rec('t', 1, 0, 'a'));
    h.scheduler.submit(rec('t', 1, 1, 'a'));
    expect(h.runningIds()).toContain('t/1@0');
    expect(h.runningIds()).not.toContain('t/1@1');
  });
});

describe('Scheduler, unordered', () => {
  it('up to maxInFlightPerPartition per partition, next one as soon as any finishes', async () => {
    const h = harness({ ordering: 'unordered', maxInFlight: 100, maxInFlightPerPartition: 4 });
    for (let o = 0; o < 10; o++) h.scheduler.submit(rec('t', 0, o, 'same-key'));
    for (let o = 0; o < 2; o++) h.scheduler.submit(rec('t', 1, o));
    expect(h.runningIds()).toEqual(['t/0@0', 't/0@1', 't/0@2', 't/0@3', 't/1@0', 't/1@1']);
    await h.finish('t', 0, 2);
    expect(h.runningIds()).toEqual(['t/0@0', 't/0@1', 't/0@3', 't/0@4', 't/1@0', 't/1@1']);
  });

  it.each([1, 2])('never more than the cap in one partition (seed %d)', async (seed) => {
    const h = harness({ ordering: 'unordered', maxInFlight: 100, maxInFlightPerPartition: 5 });
    for (let o = 0; o < 200; o++) h.scheduler.submit(rec('t', o % 2, o));
    await h.drainRandomly(seed);
    expect(h.started).toHaveLength(200);
    for (const [partition, n] of h.max.partition) expect(n, partition).toBe(5);
    // Starts follow the received order within a partition even if completions don't.
    for (const [partition, offsets] of startsBy(h.started, partitionOf)) expect(ascending(offsets), partition).toBe(true);
  });
});

describe('Scheduler, global maxInFlight', () => {
  it.each(['ordered', 'key', 'unordered'] as const)('%s: never more than maxInFlight across partitions', async (ordering) => {
    const h = harness({ ordering, maxInFlight: 3, maxInFlightPerPartition: 10 });
    for (let o = 0; o < 20; o++) for (let p = 0; p < 5; p++) h.scheduler.submit(rec('t', p, o, `k${o % 4}`));
    expect(h.running).toHaveLength(3);
    expect(h.scheduler.running).toBe(3);
    await h.drainRandomly(7, () => {
      expect(h.running.length).toBeLessThanOrEqual(3);
      // Work-conserving: a free slot is used while something could start.
      if (h.scheduler.queuedOrRunning >= 3 + 5 * 10) expect(h.running).toHaveLength(3);
    });
    expect(h.started).toHaveLength(100);
    expect(h.max.overall).toBe(3);
  });
});

describe('Scheduler, fairness across partitions', () => {
  it('ordered, maxInFlight 1: a partition with 1000 queued does not starve another', async () => {
    const h = harness({ ordering: 'ordered', maxInFlight: 1, maxInFlightPerPartition: 50 });
    for (let o = 0; o < 1000; o++) h.scheduler.submit(rec('t', 0, o));
    h.scheduler.submit(rec('t', 1, 0));
    for (let i = 0; i < 3 && h.running.length > 0; i++)
      await h.finish(h.running[0]!.record.topic, h.running[0]!.record.partition, h.running[0]!.record.offset);
    // Round-robin: t/1 gets the slot right after the one t/0 record that was already running.
    expect(h.startedIds().slice(0, 3)).toContain('t/1@0');
  });

  it('unordered, maxInFlight 2: the quiet partition gets about half the slots', async () => {
    const h = harness({ ordering: 'unordered', maxInFlight: 2, maxInFlightPerPartition: 50 });
    for (let o = 0; o < 1000; o++) h.scheduler.submit(rec('t', 0, o));
    for (let o = 0; o < 10; o++) h.scheduler.submit(rec('t', 1, o));
    for (let i = 0; i < 30; i++) {
      const r = h.running[0]!.record;
      await h.finish(r.topic, r.partition, r.offset);
    }
    const quiet = h.started.slice(0, 32).filter((r) => r.partition === 1).length;
    expect(quiet).toBeGreaterThanOrEqual(10);
  });

  it('key mode, maxInFlight 1: a partition with 1000 queued does not starve another', async () => {
    const h = harness({ ordering: 'key', maxInFlight: 1, maxInFlightPerPartition: 50 });
    for (let o = 0; o < 1000; o++) h.scheduler.submit(rec('t', 0, o, `k${o % 10}`));
    h.scheduler.submit(rec('t', 1, 0, 'k0'));
    for (let i = 0; i < 3; i++) {
      const r = h.running[0]!.record;
      await h.finish(r.topic, r.partition, r.offset);
    }
    expect(h.startedIds().slice(0, 3)).toContain('t/1@0');
  });

  it('with room for everyone, every partition starts at once', () => {
    const h = harness({ ordering: 'ordered', maxInFlight: 10, maxInFlightPerPartition: 50 });
    for (let o = 0; o < 1000; o++) h.scheduler.submit(rec('t', 0, o));
    h.scheduler.submit(rec('t', 1, 0));
    expect(h.runningIds()).toEqual(['t/0@0', 't/1@0']);
  });
});

describe('Scheduler, dropPartition', () => {
  it('drops the queued records, lets the running one finish, starts nothing after it', async () => {
    const h = harness({ ordering: 'ordered', maxInFlight: 10, maxInFlightPerPartition: 10 });
    for (let o = 0; o < 5; o++) h.scheduler.submit(rec('t', 0, o));
    for (let o = 0; o < 2; o++) h.scheduler.submit(rec('t', 1, o));
    expect(h.scheduler.queuedOrRunning).toBe(7);
    expect(h.scheduler.dropPartition('t', 0)).toBe(4);
    expect(h.scheduler.queuedOrRunning).toBe(3);
    expect(h.scheduler.queuedOrRunningIn('t', 0)).toBe(1);
    expect(h.runningIds()).toEqual(['t/0@0', 't/1@0']);
    await h.finish('t', 0, 0);
    expect(h.runningIds()).toEqual(['t/1@0']);
    expect(h.scheduler.queuedOrRunningIn('t', 0)).toBe(0);
    expect(h.scheduler.queuedOrRunning).toBe(2);
    await h.finish('t', 1, 0);
    await h.finish('t', 1, 1);
    expect(h.startedIds()).toEqual(['t/0@0', 't/1@0', 't/1@1']);
    expect(h.scheduler.queuedOrRunning).toBe(0);
  });

  it('key mode: every running lane finishes, no queued record of any lane starts', async () => {
    const h = harness({ ordering: 'key', maxInFlight: 10, maxInFlightPerPartition: 2 });
    ['a', 'b', 'c', 'a', 'b', 'c'].forEach((k, o) => h.scheduler.submit(rec('t', 0, o, k)));
    expect(h.runningIds()).toEqual(['t/0@0', 't/0@1']);
    expect(h.scheduler.dropPartition('t', 0)).toBe(4);
    await h.finish('t', 0, 0);
    await h.finish('t', 0, 1);
    expect(h.running).toHaveLength(0);
    expect(h.startedIds()).toEqual(['t/0@0', 't/0@1']);
    expect(h.scheduler.queuedOrRunning).toBe(0);
  });

  it('a failed run of a dropped partition starts nothing either', async () => {
    const h = harness({ ordering: 'ordered', maxInFlight: 10, maxInFlightPerPartition: 10 });
    for (let o = 0; o < 3; o++) h.scheduler.submit(rec('t', 0, o));
    h.scheduler.dropPartition('t', 0);
    await h.fail('t', 0, 0);
    expect(h.startedIds()).toEqual(['t/0@0']);
    expect(h.scheduler.queuedOrRunning).toBe(0);
  });

  it('queued records blocked by maxInFlight are dropped too', async () => {
    const h = harness({ ordering: 'ordered', maxInFlight: 1, maxInFlightPerPartition: 10 });
    h.scheduler.submit(rec('t', 0, 0));
    h.scheduler.submit(rec('t', 1, 0));
    h.scheduler.submit(rec('t', 1, 1));
    expect(h.scheduler.dropPartition('t', 1)).toBe(2);
    expect(h.scheduler.queuedOrRunningIn('t', 1)).toBe(0);
    await h.finish('t', 0, 0);
    expect(h.startedIds()).toEqual(['t/0@0']);
    expect(h.scheduler.queuedOrRunning).toBe(0);
  });

  it('unordered mode: queued records (each in a lane of its own) are dropped and counted', async () => {
    const h = harness({ ordering: 'unordered', maxInFlight: 10, maxInFlightPerPartition: 2 });
    for (let o = 0; o < 6; o++) h.scheduler.submit(rec('t', 0, o));
    h.scheduler.submit(rec('t', 1, 0));
    expect(h.runningIds()).toEqual(['t/0@0', 't/0@1', 't/1@0']);
    expect(h.scheduler.dropPartition('t', 0)).toBe(4);
    expect(h.scheduler.queuedOrRunning).toBe(3);
    await h.finish('t', 0, 0);
    await h.finish('t', 0, 1);
    await h.finish('t', 1, 0);
    expect(h.startedIds()).toEqual(['t/0@0', 't/0@1', 't/1@0']);
    expect(h.scheduler.queuedOrRunning).toBe(0);
    await h.scheduler.idle();
  });

  it('an unknown partition drops nothing', () => {
    const h = harness({ ordering: 'ordered', maxInFlight: 10, maxInFlightPerPartition: 10 });
    expect(h.scheduler.dropPartition('nope', 3)).toBe(0);
  });

  it('records submitted after the partition was assigned again do run', async () => {
    const h = harness({ ordering: 'ordered', maxInFlight: 10, maxInFlightPerPartition: 10 });
    for (let o = 0; o < 3; o++) h.scheduler.submit(rec('t', 0, o));
    h.scheduler.dropPartition('t', 0);
    await h.finish('t', 0, 0);
    h.scheduler.submit(rec('t', 0, 1));
    h.scheduler.submit(rec('t', 0, 2));
    expect(h.runningIds()).toEqual(['t/0@1']);
    await h.finish('t', 0, 1);
    expect(h.runningIds()).toEqual(['t/0@2']);
    expect(h.scheduler.queuedOrRunningIn('t', 0)).toBe(1);
  });
});

describe('Scheduler, idle() and counts', () => {
  it('idle() resolves at once when nothing was submitted', async () => {
    const h = harness({ ordering: 'ordered', maxInFlight: 10, maxInFlightPerPartition: 10 });
    await expect(h.scheduler.idle()).resolves.toBeUndefined();
  });

  it('idle() resolves only when everything queued and running is done', async () => {
    const h = harness({ ordering: 'key', maxInFlight: 10, maxInFlightPerPartition: 10 });
    for (let o = 0; o < 4; o++) h.scheduler.submit(rec('t', o % 2, o, 'k'));
    let idle = false;
    const waiters = [h.scheduler.idle().then(() => (idle = true)), h.scheduler.idle()];
    await h.finish('t', 0, 0);
    await h.finish('t', 1, 1);
    await h.finish('t', 0, 2);
    expect(idle).toBe(false);
    await h.finish('t', 1, 3);
    await Promise.all(waiters);
    expect(idle).toBe(true);
    await h.scheduler.idle();
  });

  it('idle() resolves once a drop leaves nothing running', async () => {
    const h = harness({ ordering: 'ordered', maxInFlight: 1, maxInFlightPerPartition: 10 });
    h.scheduler.submit(rec('t', 0, 0));
    h.scheduler.submit(rec('t', 0, 1));
    let idle = false;
    const waiter = h.scheduler.idle().then(() => (idle = true));
    h.scheduler.dropPartition('t', 0);
    await flush();
    expect(idle).toBe(false);
    await h.finish('t', 0, 0);
    await waiter;
    expect(idle).toBe(true);
  });

  it('queuedOrRunning, queuedOrRunningIn and running count queued and running records', async () => {
    const h = harness({ ordering: 'unordered', maxInFlight: 3, maxInFlightPerPartition: 2 });
    for (let o = 0; o < 5; o++) h.scheduler.submit(rec('t', 0, o));
    for (let o = 0; o < 2; o++) h.scheduler.submit(rec('u', 1, o));
    expect(h.scheduler.queuedOrRunning).toBe(7);
    expect(h.scheduler.running).toBe(3);
    expect(h.scheduler.queuedOrRunningIn('t', 0)).toBe(5);
    expect(h.scheduler.queuedOrRunningIn('u', 1)).toBe(2);
    expect(h.scheduler.queuedOrRunningIn('t', 9)).toBe(0);
    await h.finish('t', 0, 0);
    expect(h.scheduler.queuedOrRunning).toBe(6);
    expect(h.scheduler.queuedOrRunningIn('t', 0)).toBe(4);
    expect(h.scheduler.running).toBe(3);
    await h.drainRandomly(3);
    expect(h.scheduler.queuedOrRunning).toBe(0);
    expect(h.scheduler.running).toBe(0);
    expect(h.scheduler.queuedOrRunningIn('t', 0)).toBe(0);
  });

  it('submitting after idle starts again at once', async () => {
    const h = harness({ ordering: 'ordered', maxInFlight: 10, maxInFlightPerPartition: 10 });
    h.scheduler.submit(rec('t', 0, 0));
    await h.finish('t', 0, 0);
    await h.scheduler.idle();
    h.scheduler.submit(rec('t', 0, 1));
    expect(h.runningIds()).toEqual(['t/0@1']);
  });

  it('handles long lanes (lane compaction) without losing or reordering records', async () => {
    const h = harness({ ordering: 'ordered', maxInFlight: 10, maxInFlightPerPartition: 10 });
    for (let o = 0; o < 3000; o++) h.scheduler.submit(rec('t', 0, o));
    for (let i = 0; i < 1500; i++) await h.finish('t', 0, i);
    for (let o = 3000; o < 3100; o++) h.scheduler.submit(rec('t', 0, o));
    await h.drainRandomly(1);
    expect(h.started.map((r) => r.offset)).toEqual(Array.from({ length: 3100 }, (_, i) => i));
  });
});

describe('Scheduler: a rebalance holds it, a stop keeps only what closes the gaps', () => {
  it('hold: nothing new starts, what runs finishes (noneRunning resolves), release starts the queue again', async () => {
    const h = harness({ ordering: 'ordered', maxInFlight: 10, maxInFlightPerPartition: 1 });
    for (let o = 0; o < 3; o++) h.scheduler.submit(rec('t', 0, o));
    h.scheduler.hold();
    let settled = false;
    void h.scheduler.noneRunning().then(() => (settled = true));
    await h.finish('t', 0, 0);
    expect(settled).toBe(true);
    expect(h.runningIds()).toEqual([]);
    h.scheduler.submit(rec('t', 1, 0));
    await flush();
    expect(h.runningIds()).toEqual([]);
    h.scheduler.release();
    expect(h.runningIds()).toEqual(['t/0@1', 't/1@0']);
  });

  it('ordered: keepOnlyGapFillers forgets everything queued; idle resolves when the running record finishes', async () => {
    const h = harness({ ordering: 'ordered', maxInFlight: 10, maxInFlightPerPartition: 1 });
    for (let o = 0; o < 5; o++) h.scheduler.submit(rec('t', 0, o));
    expect(h.scheduler.keepOnlyGapFillers()).toBe(4);
    expect(h.scheduler.queuedOrRunning).toBe(1);
    let idle = false;
    void h.scheduler.idle().then(() => (idle = true));
    await h.finish('t', 0, 0);
    expect(idle).toBe(true);
    expect(h.startedIds()).toEqual(['t/0@0']);
  });

  it('key: keeps the queued records below the highest started offset of their partition, so the commit can pass everything sent', async () => {
    // Lane a: 0, 2, 4; lane b: 1, 3, 5. One lane each running: a@0 and b@1.
    const h = harness({ ordering: 'key', maxInFlight: 10, maxInFlightPerPartition: 10 });
    for (let o = 0; o < 6; o++) h.scheduler.submit(rec('t', 0, o, o % 2 === 0 ? 'a' : 'b'));
    await h.finish('t', 0, 1); // b@3 starts: highest started is now 3
    expect(h.runningIds()).toEqual(['t/0@0', 't/0@3']);
    // a@2 lies below 3 and is kept; a@4, b@5 are forgotten.
    expect(h.scheduler.keepOnlyGapFillers()).toBe(2);
    await h.drainRandomly(7);
    expect(h.startedIds().sort()).toEqual(['t/0@0', 't/0@1', 't/0@2', 't/0@3']);
  });

  it('keepOnlyGapFillers while held forgets every queued record: nothing more may start', async () => {
    const h = harness({ ordering: 'key', maxInFlight: 10, maxInFlightPerPartition: 10 });
    for (let o = 0; o < 4; o++) h.scheduler.submit(rec('t', 0, o, 'k'));
    h.scheduler.hold();
    expect(h.scheduler.keepOnlyGapFillers()).toBe(3);
    await h.finish('t', 0, 0);
    expect(h.scheduler.queuedOrRunning).toBe(0);
  });
});
