import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Settings } from '../../src/config/settings.js';
import { brokers, committedOffsets, createTopic, disconnectKafka, produce } from '../helpers/kafka.js';
import { startRecordingSink, type RecordingSink } from '../helpers/recording-sink.js';
import { startTestDispatcher, type TestDispatcher } from '../helpers/dispatcher.js';
import { runCli } from '../helpers/cli.js';
import { waitFor, sleep } from '../helpers/wait-for.js';

let sink: RecordingSink | undefined;
let dispatcher: TestDispatcher | undefined;
afterEach(async () => {
  await dispatcher?.stop(5000);
  await sink?.close();
  dispatcher = sink = undefined;
});
afterAll(() => disconnectKafka());

const PARTITIONS = 3;
const PER_PARTITION = 40;

/** The counter's value summed over the series whose labels include all of `labels`. */
async function metricSum(running: TestDispatcher, name: string, labels: Record<string, string>): Promise<number> {
  const text = await running.metrics.registry.metrics();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

describe('FILTER against a real broker and sink', () => {
  it.each<Settings['ordering']>(['unordered', 'key', 'ordered'])(
    'a filter that drops half the records (%s): the sink gets the matching half, offsets are committed to the end, filtered is counted',
    async (ordering) => {
      const { topic, group } = await createTopic(PARTITIONS, `kd-filter-${ordering}`);
      sink = await startRecordingSink(() => ({ delayMs: Math.floor(Math.random() * 4) }));
      const total = PARTITIONS * PER_PARTITION;
      // Odd records interleave with even ones in every partition: a filtered record must not hold
      // back the commit of the delivered ones after it, nor be skipped over before its turn.
      await produce(
        topic,
        Array.from({ length: total }, (_, i) => ({
          partition: i % PARTITIONS,
          key: `key-${i % 7}`,
          value: JSON.stringify({ n: i, id: `r-${i}` }),
        })),
      );
      dispatcher = await startTestDispatcher({
        topics: [topic],
        groupId: group,
        sinkUri: sink.url,
        ordering,
        // JSON numbers are CEL doubles: `%` wants ints.
        filter: 'int(value.n) % 2 == 0',
      });
      await waitFor(
        async () => [...(await committedOffsets(group, topic)).values()].every((o) => o === PER_PARTITION),
        'offsets committed to the end of every partition',
        60_000,
      );
      await sleep(200);
      const ids = sink.requests.map((r) => (JSON.parse(r.body) as { id: string }).id).sort();
      const expected = Array.from({ length: total }, (_, i) => i)
        .filter((i) => i % 2 === 0)
        .map((i) => `r-${i}`)
        .sort();
      expect(ids).toEqual(expected);
      const committed = await committedOffsets(group, topic);
      expect([...committed.entries()].sort()).toEqual(Array.from({ length: PARTITIONS }, (_, p) => [p, PER_PARTITION]));
      expect(await metricSum(dispatcher, 'kafka_dispatch_records_finished_total', { outcome: 'filtered', sink: 'none' })).toBe(total / 2);
      expect(await metricSum(dispatcher, 'kafka_dispatch_records_finished_total', { outcome: 'delivered', sink: 'default' })).toBe(
        total / 2,
      );
      expect(await metricSum(dispatcher, 'kafka_dispatch_expression_errors_total', { expression: 'filter' })).toBe(0);
    },
    90_000,
  );

  it('a record the filter fails on is filtered, counted as an expression error and logged with its place and the reason', async () => {
    const { topic, group } = await createTopic(1, 'kd-filter-error');
    sink = await startRecordingSink();
    // The second record has no `n`: `value.n` fails on it (has() would guard it).
    await produce(topic, [
      { value: JSON.stringify({ n: 1 }) },
      { value: JSON.stringify({ other: true }) },
      { value: null },
      { value: JSON.stringify({ n: 3 }) },
    ]);
    dispatcher = await startTestDispatcher({ topics: [topic], groupId: group, sinkUri: sink.url, filter: 'value.n > 0' });
    await waitFor(async () => (await committedOffsets(group, topic)).get(0) === 4, 'offsets committed past all four records');
    expect(sink.requests.map((r) => JSON.parse(r.body) as unknown)).toEqual([{ n: 1 }, { n: 3 }]);
    expect(await metricSum(dispatcher, 'kafka_dispatch_records_finished_total', { outcome: 'filtered' })).toBe(2);
    expect(await metricSum(dispatcher, 'kafka_dispatch_expression_errors_total', { expression: 'filter' })).toBe(2);
    const warnings = dispatcher.logs().filter((l) => l.msg === 'filter failed on a record: filtered');
    expect(warnings.map((w) => [w.offset, w.code])).toEqual([
      [1, 'KD_FILTER_ERROR'],
      [2, 'KD_FILTER_ERROR'],
    ]);
    expect(String(warnings[0]!.err)).toContain(`filter failed on ${topic}/0@1`);
  });

  it('a FILTER syntax error stops the start with a configuration error naming FILTER, the expression and the position (exit 2)', async () => {
    const { code, stderr } = await runCli(['run'], {
      KAFKA_BROKERS: brokers().join(','),
      KAFKA_TOPICS: 'kd-filter-never-read',
      K_SINK: 'http://127.0.0.1:9/',
      FILTER: 'value.n % 2 ==',
    });
    expect(code).toBe(2);
    expect(stderr).toContain('env.FILTER: is not a valid CEL filter: Unexpected token: EOF at line 1, column 15, in "value.n % 2 =="');
  });

  it('the kafka-dispatch/filter annotation is read like FILTER, and its syntax error names the annotation and the line and column', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-filter-'));
    const file = join(dir, 'source.yaml');
    writeFileSync(
      file,
      `apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata:
  name: models
  annotations:
    kafka-dispatch/filter: |-
      has(value.model) &&
        value.model == )
spec:
  bootstrapServers: [${brokers().join(',')}]
  topics: [kd-filter-never-read]
  sink:
    uri: http://127.0.0.1:9/
`,
    );
    const { code, stderr } = await runCli(['validate', '--kafkasource', file]);
    expect(code).toBe(2);
    expect(stderr).toContain(
      'metadata.annotations["kafka-dispatch/filter"]: is not a valid CEL filter: Unexpected token: RPAREN at line 2, column 18',
    );
  });
});
