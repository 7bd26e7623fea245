import { afterEach, describe, expect, it, vi } from 'vitest';
import { BatchAccumulator, type Batch } from '../../src/dispatch/batch-accumulator.js';
import type { KafkaRecord } from '../../src/source/record.js';
import { rec } from '../helpers/records.js';

/** Records whose value is `bytes` long. */
function sized(offset: number, bytes: number): KafkaRecord {
  return { ...rec('t', 0, offset), value: Buffer.alloc(bytes, 'x') };
}

function accumulator(options: { maxRecords: number; maxBytes?: number; maxWaitMs?: number }) {
  const sent: Batch[] = [];
  const batches = new BatchAccumulator({
    maxRecords: options.maxRecords,
    maxBytes: options.maxBytes ?? 1024 * 1024,
    maxWaitMs: options.maxWaitMs ?? 10,
    bytesOf: (record) => record.value?.length ?? 0,
    send: (batch) => {
      sent.push(batch);
      for (const entry of batch.entries) entry.resolve(undefined);
    },
  });
  const offsets = () => sent.map((batch) => batch.entries.map((entry) => entry.record.offset));
  return { batches, sent, offsets };
}

describe('BatchAccumulator', () => {
  afterEach(() => vi.useRealTimers());

  it('closes a batch at max records, in arrival order', () => {
    const { batches, offsets } = accumulator({ maxRecords: 3 });
    for (let i = 0; i < 7; i++) void batches.add(sized(i, 10));
    expect(offsets()).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
  });

  it('sends a short batch once max wait passed since its first record', () => {
    vi.useFakeTimers();
    const { batches, offsets } = accumulator({ maxRecords: 10, maxWaitMs: 50 });
    void batches.add(sized(0, 10));
    vi.advanceTimersByTime(30);
    void batches.add(sized(1, 10));
    expect(offsets()).toEqual([]);
    vi.advanceTimersByTime(20);
    expect(offsets()).toEqual([[0, 1]]);
  });

  it('closes a batch before a record would take it past max bytes; a record of max bytes or more goes alone', () => {
    const { batches, offsets, sent } = accumulator({ maxRecords: 10, maxBytes: 2048 });
    void batches.add(sized(0, 1000));
    void batches.add(sized(1, 1000));
    void batches.add(sized(2, 1000)); // 3000 > 2048: [0, 1] goes
    void batches.add(sized(3, 5000)); // alone, after [2] is sent
    batches.flush();
    expect(offsets()).toEqual([[0, 1], [2], [3]]);
    expect(sent.map((batch) => batch.bytes)).toEqual([2000, 1000, 5000]);
  });

  it("keeps a lane's run in one batch: the open batch goes first when the run does not fit", () => {
    const { batches, offsets } = accumulator({ maxRecords: 4 });
    void batches.add(sized(0, 10));
    void batches.add(sized(1, 10));
    void Promise.all(batches.addRun([sized(10, 10), sized(11, 10), sized(12, 10)]));
    batches.flush();
    expect(offsets()).toEqual([
      [0, 1],
      [10, 11, 12],
    ]);
  });

  it("resolves each record's promise with what its batch's sender settled it with", async () => {
    const batches = new BatchAccumulator({
      maxRecords: 2,
      maxBytes: 1024,
      maxWaitMs: 10,
      bytesOf: () => 1,
      send: (batch) =>
        batch.entries.forEach((entry, i) => entry.resolve({ outcome: i === 0 ? 'delivered' : 'skipped', attempts: 1, durationMs: 0 })),
    });
    const results = await Promise.all([batches.add(sized(0, 1)), batches.add(sized(1, 1))]);
    expect(results.map((result) => result?.outcome)).toEqual(['delivered', 'skipped']);
  });
});
