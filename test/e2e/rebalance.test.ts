import { describe, expect, it } from 'vitest';
import { createTopic, produce } from '../helpers/kafka.js';
import { startTestDispatcher, type TestDispatcher } from '../helpers/dispatcher.js';
import { useTestResources } from '../helpers/resources.js';
import { waitFor } from '../helpers/wait-for.js';

const res = useTestResources();

const PARTITIONS = 4;
const PER_PARTITION = 150;

/** Arrivals at the sink of `p<partition>-<offset>` values: duplicates and order violations per partition. */
function ledger(bodies: string[]) {
  const highest = new Map<string, number>();
  const seen = new Set<string>();
  let duplicates = 0;
  const violations: string[] = [];
  for (const body of bodies) {
    const [partition, offset] = body.split('-') as [string, string];
    if (seen.has(body)) duplicates++;
    seen.add(body);
    const top = highest.get(partition) ?? -1;
    if (Number(offset) < top) violations.push(`${body} after ${partition}-${top}`);
    highest.set(partition, Math.max(top, Number(offset)));
  }
  return { distinct: seen.size, duplicates, violations };
}

describe('a planned rebalance in ordered mode (a member joins, a member leaves with SIGTERM semantics)', () => {
  it('delivers nothing out of order and repeats nothing: each rejoin waits for the in-flight records and commits them', async () => {
    const { topic, group } = await createTopic(PARTITIONS, 'kd-rebalance');
    const sink = await res.sink(() => ({ delayMs: 20 + Math.floor(Math.random() * 20) }));
    await produce(
      topic,
      Array.from({ length: PARTITIONS * PER_PARTITION }, (_, i) => ({
        partition: i % PARTITIONS,
        value: `p${i % PARTITIONS}-${Math.floor(i / PARTITIONS)}`,
      })),
    );
    const settings = { topics: [topic], groupId: group, sinkUri: sink.url, ordering: 'ordered' as const, sessionTimeoutMs: 10_000 };
    res.dispatcher = await startTestDispatcher(settings);
    const total = PARTITIONS * PER_PARTITION;
    await waitFor(() => sink.requests.length >= total / 4, 'a quarter delivered by the first member', 60_000);
    let second: TestDispatcher | undefined = await startTestDispatcher(settings);
    res.defer(async () => second?.stop(5000));
    await waitFor(() => second!.metrics.totals.delivered > 20, 'the second member delivering', 60_000);
    await second.stop(10_000);
    second = undefined;
    await waitFor(() => new Set(sink.requests.map((r) => r.body)).size === total, 'every record', 90_000);
    const figures = ledger(sink.requests.map((r) => r.body));
    expect(figures.violations).toEqual([]);
    expect(figures.duplicates).toBe(0);
    expect(res.dispatcher.logs().some((l) => l.msg.startsWith('rebalance: in-flight records finished and committed'))).toBe(true);
  }, 150_000);
});
