import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { Message, Producer } from 'kafkajs';
import { brokers, createTopic, disconnectKafka } from '../../helpers/kafka.js';
import { connectProducer, Ledger, sized } from '../../helpers/ledger.js';
import { headProblems, startRawSink, type RawRequest } from '../../helpers/raw-sink.js';
import { baseEnv, keepLogs, useDispatcherProcesses } from '../../helpers/dispatcher-process.js';
import { prng } from '../../helpers/prng.js';
import { waitFor } from '../../helpers/wait-for.js';

// Records a producer may well send, and that must still become one clean HTTP request each: null
// keys and values, bytes that are not UTF-8, CR/LF in Kafka header names and values (which must
// never turn into injected or split HTTP headers, or a second request: checked on the raw bytes at a
// TCP sink that parses HTTP by hand), records as large as the broker takes and thousands of headers.

const LARGE_RECORDS = sized(3, 20);
/** Under the broker's default message.max.bytes (1 MiB), with room for the batch and headers. */
const LARGE_BYTES = 900 * 1024;
const MANY_HEADER_RECORDS = sized(1, 10);
/** kafkajs's own decoder takes ~20 s for this many (quadratic): past the session timeout below. */
const HEADERS_PER_RECORD = 8000;
const INJECTION = '\r\nX-Injected: 1\r\n\r\nPOST /smuggled HTTP/1.1\r\nHost: evil\r\nContent-Length: 0\r\n\r\n';

const processes = useDispatcherProcesses();
let producer: Producer | undefined;
afterAll(async () => {
  await producer?.disconnect();
  await disconnectKafka();
});

interface Case {
  name: string;
  message: Partial<Message>;
  check: (request: RawRequest, header: (name: string) => string | undefined) => void;
}

/** A `ce-*` value as the CloudEvents HTTP binding percent-encoded it, decoded back to text. */
const decoded = (value: string | undefined) => (value === undefined ? undefined : decodeURIComponent(value));
/** What the dispatcher can say of bytes that are not UTF-8: the text with U+FFFD for each bad sequence. */
const asText = (bytes: Buffer) => bytes.toString('utf8');

const random = prng(9);
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));

const CASES: Case[] = [
  {
    name: 'null key',
    message: { key: null, value: 'plain' },
    check(r, h) {
      expect(h('ce-key')).toBeUndefined();
      expect(h('ce-partitionkey')).toBeUndefined();
      expect(r.body.toString()).toBe('plain');
    },
  },
  {
    name: 'null value (tombstone)',
    message: { key: 'gone', value: null },
    check(r, h) {
      expect(h('ce-key')).toBe('gone');
      expect(r.body.length).toBe(0);
    },
  },
  {
    name: 'non-UTF-8 bytes in key, value and a header value',
    message: {
      key: Buffer.from([0xff, 0xfe, 0x00, 0x0d, 0x0a, 0x80, 0x41]),
      value: Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      headers: { bin: Buffer.from([0xc3, 0x28, 0x0d, 0x0a, 0xff, 0x00]) },
    },
    check(r, h) {
      // The value is the body: every byte as it was, none re-encoded.
      expect(r.body.equals(Buffer.from(Array.from({ length: 256 }, (_, i) => i)))).toBe(true);
      expect(decoded(h('ce-key'))).toBe(asText(Buffer.from([0xff, 0xfe, 0x00, 0x0d, 0x0a, 0x80, 0x41])));
      expect(decoded(h('ce-kafkaheaderbin'))).toBe(asText(Buffer.from([0xc3, 0x28, 0x0d, 0x0a, 0xff, 0x00])));
    },
  },
  {
    name: 'CR/LF in header values',
    message: { value: 'v', headers: { note: `a${INJECTION}b`, lf: 'x\ny', cr: 'x\ry', nul: 'x\u0000y' } },
    check(_r, h) {
      expect(decoded(h('ce-kafkaheadernote'))).toBe(`a${INJECTION}b`);
      expect(decoded(h('ce-kafkaheaderlf'))).toBe('x\ny');
      expect(decoded(h('ce-kafkaheadercr'))).toBe('x\ry');
      expect(decoded(h('ce-kafkaheadernul'))).toBe('x\u0000y');
    },
  },
  {
    name: 'CR/LF in header names',
    message: { value: 'v', headers: { [`evil${INJECTION}`]: 'one', 'x\r\n': 'two', 'Content-Type\r\nX-Injected': 'three' } },
    check(_r, h) {
      // Knative's mapping keeps [a-z0-9] of the name: whatever the name holds becomes part of one header name.
      expect(h('ce-kafkaheaderevilxinjected1postsmuggledhttp11hostevilcontentlength0')).toBe('one');
      expect(h('ce-kafkaheaderx')).toBe('two');
      expect(h('ce-kafkaheadercontenttypexinjected')).toBe('three');
      expect(h('content-type')).toBeUndefined();
    },
  },
  {
    name: 'CR/LF in the content-type header',
    message: { value: 'v', headers: { 'content-type': `text/plain${INJECTION}` } },
    check(_r, h) {
      expect(h('content-type')).toMatch(/^text\/plain/);
    },
  },
  {
    name: 'CR/LF in the key',
    message: { key: `k${INJECTION}`, value: 'v' },
    check(_r, h) {
      expect(decoded(h('ce-key'))).toBe(`k${INJECTION}`);
    },
  },
  {
    name: 'a CloudEvent (Kafka binary mode) with CR/LF in its attributes',
    message: {
      value: '{}',
      headers: {
        ce_specversion: '1.0',
        ce_id: `id${INJECTION}`,
        ce_source: '/src\r\n',
        ce_type: 't\nX-Injected: 2',
        ce_myext: 'e\r\nx',
        'content-type': 'application/json\r\nX-Injected: 3',
      },
    },
    check(_r, h) {
      expect(decoded(h('ce-id'))).toBe(`id${INJECTION}`);
      expect(decoded(h('ce-source'))).toBe('/src\r\n');
      expect(decoded(h('ce-type'))).toBe('t\nX-Injected: 2');
      expect(decoded(h('ce-myext'))).toBe('e\r\nx');
      expect(h('content-type')).toMatch(/^application\/json/);
    },
  },
  ...Array.from({ length: LARGE_RECORDS }, (_, i): Case => {
    const value = bytes(LARGE_BYTES - i);
    const digest = createHash('sha256').update(value).digest('hex');
    return {
      name: `large record ${i + 1} (${value.length} bytes)`,
      message: { value },
      check(r) {
        expect(r.body.length).toBe(value.length);
        expect(createHash('sha256').update(r.body).digest('hex')).toBe(digest);
      },
    };
  }),
  ...Array.from({ length: MANY_HEADER_RECORDS }, (_, i): Case => {
    const headers = Object.fromEntries(Array.from({ length: HEADERS_PER_RECORD }, (_, j) => [`h${j}`, `v${j}-${i}`]));
    return {
      name: `${HEADERS_PER_RECORD} headers (record ${i + 1})`,
      message: { value: `many-${i}`, headers },
      check(r, h) {
        const mapped = r.headers.filter(([name]) => /^ce-kafkaheaderh\d+$/.test(name));
        expect(mapped).toHaveLength(HEADERS_PER_RECORD);
        for (let j = 0; j < HEADERS_PER_RECORD; j += 97) expect(h(`ce-kafkaheaderh${j}`)).toBe(`v${j}-${i}`);
        expect(h(`ce-kafkaheaderh${HEADERS_PER_RECORD - 1}`)).toBe(`v${HEADERS_PER_RECORD - 1}-${i}`);
      },
    };
  }),
];

describe('hostile records, checked on the raw bytes at a TCP sink', () => {
  it(
    'each becomes exactly one well-formed request: no header injected or split, values percent-encoded, bodies byte for byte',
    async () => {
      const { topic, group } = await createTopic(1, 'kd-hostile');
      producer ??= await connectProducer(brokers());
      const ledger = new Ledger(topic, 1);
      const sink = await startRawSink();
      const byOffset = new Map<number, Case>();
      const seen: RawRequest[] = [];
      let dispatcher;
      try {
        for (const c of CASES) {
          const before = ledger.producedCount;
          const extraHeaders = c.message.headers?.ce_specversion ? { ce_ledgerid: `p0s${before}` } : {};
          await ledger.produce(producer, 1, () => ({ ...c.message, headers: { ...c.message.headers, ...extraHeaders } }));
          byOffset.set([...ledger.entries.values()].at(-1)!.offset, c);
        }
        dispatcher = await processes.start('hostile', {
          ...baseEnv(brokers().join(','), topic, group, `${sink.url}/in`),
          ORDERING: 'ordered',
          RETRY_COUNT: '2',
          RETRY_INTERVAL: '0.05',
          REQUEST_TIMEOUT: '20',
          KAFKA_SESSION_TIMEOUT: '6',
        });
        await waitFor(
          () => {
            for (const r of sink.requests.splice(0)) {
              const headers = Object.fromEntries(r.headers);
              ledger.accept(ledger.arrived(headers), r.receivedAt);
              seen.push(r);
            }
            ledger.noteGivenUp(dispatcher!.logs());
            return ledger.complete();
          },
          'every hostile record delivered or given up',
          60_000,
        );
        await waitFor(async () => (await dispatcher!.metric('kafka_dispatch_records_finished_total')) >= CASES.length, 'outcomes counted');
        const finished = await dispatcher.metric('kafka_dispatch_records_finished_total', 'outcome="delivered"');
        ledger.record('hostile records (raw TCP sink)', { ordering: { by: 'partition' }, peakRssMiB: dispatcher.rss.peakMiB });

        // Decoding a record never blocks heartbeats long enough to cost the member its group.
        expect(
          dispatcher.logs().filter((l) => l.msg === 'joined group'),
          'joins: 1 means never expelled',
        ).toHaveLength(1);
        expect(sink.problems, 'byte streams that are not well-framed HTTP/1.1').toEqual([]);
        expect(ledger.givenUp.size, 'records given up instead of delivered').toBe(0);
        expect(finished).toBe(CASES.length);
        expect(ledger.foreign, 'requests that are no record: smuggled or split').toEqual([]);
        expect(seen).toHaveLength(CASES.length);
        // Every record checked, each failure named, rather than stopping at the first.
        const failures: string[] = [];
        for (const request of seen) {
          const offset = Number(request.headers.find(([n]) => n === 'ce-knativekafkaoffset')?.[1]);
          const c = byOffset.get(offset)!;
          try {
            expect(headProblems(request.head)).toEqual([]);
            expect(request.head.toString('latin1').split('\r\n')[0]).toBe('POST /in HTTP/1.1');
            const names = request.headers.map(([n]) => n);
            expect(names.filter((n) => ['x-injected', 'injected', 'post /smuggled http/1.1'].includes(n))).toEqual([]);
            expect(names.filter((n) => n === 'host')).toHaveLength(1);
            c.check(request, (name) => request.headers.findLast(([n]) => n === name)?.[1]);
          } catch (error) {
            failures.push(`${c?.name ?? `offset ${offset}`}: ${(error as Error).message}`);
          }
        }
        expect(failures).toEqual([]);
      } catch (error) {
        if (dispatcher)
          keepLogs('hostile-records', [dispatcher], { lost: ledger.lostSummary(), problems: sink.problems, error: String(error) });
        throw error;
      } finally {
        await dispatcher?.terminate(10_000);
        await sink.close();
      }
    },
    sized(90_000, 300_000),
  );
});
