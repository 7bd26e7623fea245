import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { committedOffsets, createTopic, disconnectKafka, produce } from '../helpers/kafka.js';
import { startRecordingSink, type RecordedRequest, type RecordingSink } from '../helpers/recording-sink.js';
import { startTestDispatcher, type TestDispatcher } from '../helpers/dispatcher.js';
import { waitFor, sleep } from '../helpers/wait-for.js';

const opened: RecordingSink[] = [];
let dispatcher: TestDispatcher | undefined;
afterEach(async () => {
  await dispatcher?.stop(5000);
  await Promise.all(opened.splice(0).map((s) => s.close()));
  dispatcher = undefined;
});
afterAll(() => disconnectKafka());

/** A sink answering after 0 to 5 ms, so that any reordering the mode allowed would happen. */
async function sink(): Promise<RecordingSink> {
  const started = await startRecordingSink(() => ({ delayMs: Math.floor(Math.random() * 6) }));
  opened.push(started);
  return started;
}

const PARTITIONS = 4;
const RECORDS = 240;
const KEYS = 12;

/** The model header of record i: a known sink, K_SINK by its name, a model no sink has, or none. */
function modelOf(i: number): string | undefined {
  switch (i % 10) {
    case 3:
      return 'gpt';
    case 7:
      return undefined;
    case 0:
    case 5:
      return 'default';
    default:
      return i % 2 === 0 ? 'sklearn-iris' : 'resnet';
  }
}

interface Seen {
  id: number;
  key: string;
  offset: number;
  partition: number;
  request: RecordedRequest;
}

function seen(requests: RecordedRequest[]): Seen[] {
  return requests.map((request) => ({
    id: (JSON.parse(request.body) as { id: number }).id,
    key: String(request.headers['ce-key']),
    offset: Number(request.headers['ce-knativekafkaoffset']),
    partition: Number(request.headers['ce-knativekafkapartition']),
    request,
  }));
}

const ids = (list: Seen[]) => list.map((s) => s.id).sort((a, b) => a - b);
const expectedIds = (wanted: (model: string | undefined) => boolean) =>
  Array.from({ length: RECORDS }, (_, i) => i).filter((i) => wanted(modelOf(i)));

describe('ROUTE and SINKS against a real broker and real sinks', () => {
  it('routes each record to the sink its model header names, the unroutable to the dead letter with the reason; offsets committed past all, keys in order', async () => {
    const { topic, group } = await createTopic(PARTITIONS, 'kd-route');
    const [kSink, iris, resnet, deadLetter] = [await sink(), await sink(), await sink(), await sink()];
    await produce(
      topic,
      Array.from({ length: RECORDS }, (_, i) => {
        const model = modelOf(i);
        const key = `key-${i % KEYS}`;
        return {
          // One key, one partition, as the default partitioner would place it.
          partition: (i % KEYS) % PARTITIONS,
          key,
          value: JSON.stringify({ id: i }),
          headers: model === undefined ? {} : { model },
        };
      }),
    );
    dispatcher = await startTestDispatcher({
      topics: [topic],
      groupId: group,
      sinkUri: kSink.url,
      deadLetterSinkUri: deadLetter.url,
      ordering: 'key',
      sinks: {
        'sklearn-iris': { uri: `${iris.url}/v1/models/sklearn-iris:predict` },
        resnet: { uri: `${resnet.url}/v1/models/resnet:predict` },
      },
      route: 'headers.model',
    });
    const ends = new Map<number, number>();
    for (let i = 0; i < RECORDS; i++) ends.set((i % KEYS) % PARTITIONS, (ends.get((i % KEYS) % PARTITIONS) ?? 0) + 1);
    await waitFor(
      async () => {
        const committed = await committedOffsets(group, topic);
        return [...ends].every(([partition, end]) => committed.get(partition) === end);
      },
      'offsets committed to the end of every partition',
      60_000,
    );
    await sleep(200);

    const [atK, atIris, atResnet, atDead] = [seen(kSink.requests), seen(iris.requests), seen(resnet.requests), seen(deadLetter.requests)];
    expect(ids(atIris)).toEqual(expectedIds((m) => m === 'sklearn-iris'));
    expect(ids(atResnet)).toEqual(expectedIds((m) => m === 'resnet'));
    expect(ids(atK)).toEqual(expectedIds((m) => m === 'default'));
    expect(ids(atDead)).toEqual(expectedIds((m) => m === 'gpt' || m === undefined));
    // Each named sink at its own URI: the path of one InferenceService's predict endpoint.
    expect(new Set(iris.requests.map((r) => r.url))).toEqual(new Set(['/v1/models/sklearn-iris:predict']));
    expect(new Set(resnet.requests.map((r) => r.url))).toEqual(new Set(['/v1/models/resnet:predict']));

    // The dead letter says why: a name no sink has, or an expression that failed on the record.
    for (const dead of atDead) {
      const code = dead.request.headers['ce-kderror'];
      const reason = decodeURIComponent(String(dead.request.headers['ce-kderrorreason']));
      if (modelOf(dead.id) === 'gpt') {
        expect(code).toBe('KD_ROUTE_UNKNOWN');
        expect(reason).toBe(
          `route chose "gpt" for ${topic}/${dead.partition}@${dead.offset}, which is no sink; sinks: default, sklearn-iris, resnet`,
        );
      } else {
        expect(code).toBe('KD_ROUTE_ERROR');
        expect(reason).toMatch(new RegExp(`^route failed on ${topic}/${dead.partition}@${dead.offset}: .*\\(route: headers\\.model\\)$`));
      }
    }

    // Key mode through routing: the records of one key reach their sinks one after the other, in
    // offset order, each only once the one before it was answered (whichever sink that was).
    const all = [...atK, ...atIris, ...atResnet, ...atDead];
    expect(all).toHaveLength(RECORDS);
    for (let k = 0; k < KEYS; k++) {
      const ofKey = all.filter((s) => s.key === `key-${k}`).sort((a, b) => a.offset - b.offset);
      expect(ofKey.map((s) => s.id)).toEqual(Array.from({ length: RECORDS / KEYS }, (_, j) => k + j * KEYS));
      for (let j = 1; j < ofKey.length; j++) {
        expect(ofKey[j]!.request.receivedAt, `key-${k} offset ${ofKey[j]!.offset}`).toBeGreaterThanOrEqual(
          ofKey[j - 1]!.request.answeredAt!,
        );
      }
    }

    const metrics = await dispatcher.metrics.registry.metrics();
    const finished = (outcome: string, sinkName: string) => {
      const line = metrics
        .split('\n')
        .find(
          (l) =>
            l.startsWith('kafka_dispatch_records_finished_total{') &&
            l.includes(`outcome="${outcome}"`) &&
            l.includes(`sink="${sinkName}"`),
        );
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    expect(finished('delivered', 'sklearn-iris')).toBe(atIris.length);
    expect(finished('delivered', 'resnet')).toBe(atResnet.length);
    expect(finished('delivered', 'default')).toBe(atK.length);
    expect(finished('dead_lettered', 'none')).toBe(atDead.length);
  }, 90_000);

  it('an unroutable record with no dead letter is skipped, logged with the reason, and its offset committed', async () => {
    const { topic, group } = await createTopic(1, 'kd-route-skip');
    const [kSink, resnet] = [await sink(), await sink()];
    await produce(topic, [
      { value: JSON.stringify({ id: 0 }), headers: { model: 'resnet' } },
      { value: JSON.stringify({ id: 1 }), headers: { model: 'llama' } },
      { value: JSON.stringify({ id: 2 }), headers: { model: 'resnet' } },
    ]);
    dispatcher = await startTestDispatcher({
      topics: [topic],
      groupId: group,
      sinkUri: kSink.url,
      sinks: { resnet: { uri: resnet.url } },
      route: 'headers.model',
    });
    await waitFor(async () => (await committedOffsets(group, topic)).get(0) === 3, 'offsets committed past all three records');
    expect(ids(seen(resnet.requests))).toEqual([0, 2]);
    expect(kSink.requests).toHaveLength(0);
    const given = dispatcher.logs().filter((l) => l.outcome === 'skipped');
    expect(given.map((l) => [l.offset, l.code, l.err])).toEqual([
      [1, 'KD_ROUTE_UNKNOWN', `route chose "llama" for ${topic}/0@1, which is no sink; sinks: default, resnet`],
    ]);
  });

  it("a named sink's own Host header, retries and dead letter are used for its records, K_SINK's for K_SINK's", async () => {
    const { topic, group } = await createTopic(1, 'kd-route-own');
    const failing = await startRecordingSink(() => ({ status: 500 }));
    opened.push(failing);
    const [kSink, ownDead, defaultDead] = [await sink(), await sink(), await sink()];
    await produce(topic, [
      { value: JSON.stringify({ id: 0 }), headers: { model: 'resnet' } },
      { value: JSON.stringify({ id: 1 }), headers: { model: 'default' } },
    ]);
    dispatcher = await startTestDispatcher({
      topics: [topic],
      groupId: group,
      sinkUri: kSink.url,
      retry: 3,
      deadLetterSinkUri: defaultDead.url,
      sinks: { resnet: { uri: failing.url, host: 'resnet.models.example.com', retry: 1, deadLetterSinkUri: ownDead.url } },
      route: 'headers.model',
    });
    await waitFor(async () => (await committedOffsets(group, topic)).get(0) === 2, 'offsets committed past both records');
    // retry: 1 is two attempts, not K_SINK's four; each with the sink's own Host header.
    expect(failing.requests.map((r) => r.headers.host)).toEqual(['resnet.models.example.com', 'resnet.models.example.com']);
    expect(ids(seen(ownDead.requests))).toEqual([0]);
    expect(ownDead.requests[0]!.headers['ce-knativeerrordest']).toBe(failing.url);
    expect(ownDead.requests[0]!.headers['ce-knativeerrorcode']).toBe('500');
    expect(defaultDead.requests).toHaveLength(0);
    expect(ids(seen(kSink.requests))).toEqual([1]);
    expect(kSink.requests[0]!.headers.host).toBe(new URL(kSink.url).host);
  });
});
