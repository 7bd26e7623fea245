import { describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { Ledger } from '../helpers/ledger.js';

// The fault suite's verdicts are only as good as its ledger: each figure is checked here against a
// history with a known answer, without a broker.

/** A producer that gives each partition consecutive offsets, like a broker. */
function fakeProducer(): Producer {
  const next = new Map<number, number>();
  return {
    send: async ({ messages }: { messages: Array<{ partition?: number }> }) => {
      const base = new Map<number, number>();
      for (const m of messages) {
        const p = m.partition!;
        if (!base.has(p)) base.set(p, next.get(p) ?? 0);
        next.set(p, (next.get(p) ?? 0) + 1);
      }
      return [...base].map(([partition, baseOffset]) => ({ topicName: 't', partition, errorCode: 0, baseOffset: String(baseOffset) }));
    },
  } as unknown as Producer;
}

function deliver(ledger: Ledger, id: string, accepted = true) {
  const e = ledger.entries.get(id)!;
  const arrival = ledger.arrived({
    'ce-kafkaheaderledgerid': id,
    'ce-knativekafkapartition': String(e.partition),
    'ce-knativekafkaoffset': String(e.offset),
  });
  if (accepted) ledger.accept(arrival);
  return arrival;
}

describe('the fault ledger', () => {
  it('counts lost, duplicate and given-up records', async () => {
    const ledger = new Ledger('t', 2);
    await ledger.produce(fakeProducer(), 6);
    for (const id of ['p0s0', 'p1s0', 'p0s1', 'p0s1', 'p1s1']) deliver(ledger, id);
    deliver(ledger, 'p0s2', false); // the sink refused it
    ledger.noteGivenUp([{ msg: 'record given up: retries exhausted', topic: 't', partition: 1, offset: 2 }]);
    expect(ledger.duplicates()).toBe(1);
    expect(ledger.lost().map((e) => e.id)).toEqual(['p0s2']);
    expect(ledger.lostSummary()).toEqual(['partition 0: 1 lost, offsets 2..2']);
    expect(ledger.complete()).toBe(false);
    deliver(ledger, 'p0s2');
    expect(ledger.complete()).toBe(true);
  });

  it("counts a delivery that arrives before the producer has read the broker's answer", async () => {
    // The broker has the record and the dispatcher can deliver it while this process still waits
    // for the produce response: that delivery is the record's, not a foreign request.
    const ledger = new Ledger('t', 1);
    let answer!: () => void;
    const slow = fakeProducer();
    const send = slow.send.bind(slow);
    slow.send = (async (request: Parameters<Producer['send']>[0]) => {
      await new Promise<void>((resolve) => (answer = resolve));
      return send(request);
    }) as Producer['send'];
    const producing = ledger.produce(slow, 1);
    await new Promise((resolve) => setImmediate(resolve));
    ledger.accept(ledger.arrived({ 'ce-kafkaheaderledgerid': 'p0s0', 'ce-knativekafkapartition': '0', 'ce-knativekafkaoffset': '0' }));
    answer();
    await producing;
    expect(ledger.foreign).toEqual([]);
    expect(ledger.lost()).toEqual([]);
    expect(ledger.mislabeled()).toEqual([]);
  });

  it('counts a record that overtakes an earlier one of its partition, not a redelivery', async () => {
    const ledger = new Ledger('t', 1);
    await ledger.produce(fakeProducer(), 4);
    // 0, 1, then a restart redelivers 1, then 3 overtakes 2.
    for (const id of ['p0s0', 'p0s1', 'p0s1', 'p0s3', 'p0s2']) deliver(ledger, id);
    expect(ledger.orderViolations({ by: 'partition' })).toEqual([{ id: 'p0s2', after: 'p0s3' }]);
  });

  it('judges key order per key: keys may interleave', async () => {
    const ledger = new Ledger('t', 1, 2);
    await ledger.produce(fakeProducer(), 4); // key-0, key-1, key-0, key-1
    for (const id of ['p0s1', 'p0s0', 'p0s3', 'p0s2']) deliver(ledger, id);
    expect(ledger.orderViolations({ by: 'key' })).toEqual([]);
    expect(ledger.orderViolations({ by: 'partition' })).toHaveLength(2);
  });

  it('books overlapping produce calls in offset order, and flags events labelled with the wrong offset', async () => {
    const ledger = new Ledger('t', 1);
    const producer = fakeProducer();
    await Promise.all([ledger.produce(producer, 3), ledger.produce(producer, 3)]);
    expect([...ledger.entries.values()].map((e) => [e.seq, e.offset])).toEqual([0, 1, 2, 3, 4, 5].map((n) => [n, n]));
    const arrival = ledger.arrived({ 'ce-kafkaheaderledgerid': 'p0s0', 'ce-knativekafkapartition': '0', 'ce-knativekafkaoffset': '5' });
    expect(ledger.mislabeled()).toEqual([arrival]);
    expect(ledger.arrived({ 'ce-knativekafkaoffset': '1' }).id).toBeUndefined();
    expect(ledger.foreign).toHaveLength(1);
  });

  it('measures the resume time from the end of a fault to the next delivery', async () => {
    const ledger = new Ledger('t', 1);
    await ledger.produce(fakeProducer(), 2);
    ledger.faultEnded(1000);
    expect(ledger.resumeMs()).toBeUndefined();
    ledger.accept(deliver(ledger, 'p0s0', false), 3500);
    expect(ledger.resumeMs()).toBe(2500);
  });
});
