import { randomBytes } from 'node:crypto';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config/options.js';
import { ATTR_OUTCOME, brokerAddress } from '../../src/telemetry/tracing.js';
import { startTestDispatcher, type TestDispatcher } from '../helpers/dispatcher.js';
import { brokers, createTopic, disconnectKafka, produce } from '../helpers/kafka.js';
import { startRecordingSink, type RecordingSink } from '../helpers/recording-sink.js';
import { waitFor } from '../helpers/wait-for.js';

let sink: RecordingSink | undefined;
let dispatcher: TestDispatcher | undefined;
let exporter: InMemorySpanExporter;

beforeEach(() => {
  exporter = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});

afterEach(async () => {
  await dispatcher?.stop(5000);
  await sink?.close();
  dispatcher = undefined;
  sink = undefined;
  trace.disable();
  propagation.disable();
  context.disable();
});
afterAll(() => disconnectKafka());

function parseTraceparent(value: string | string[] | undefined): { traceId: string; parentId: string } {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(typeof value === 'string' ? value : '');
  if (!match) throw new Error(`not a sampled traceparent: ${String(value)}`);
  return { traceId: match[1]!, parentId: match[2]! };
}

describe('trace context (real broker, real HTTP sink, SDK registered)', () => {
  it('trace context arrives at the sink as the child of the producer span', async () => {
    const traceId = randomBytes(16).toString('hex');
    const producerSpanId = randomBytes(8).toString('hex');
    const { topic, group } = await createTopic(1);
    // The first attempt fails, so the chain is checked on a retried request too.
    sink = await startRecordingSink((r) => (r.n === 1 ? { status: 503 } : {}));
    await produce(topic, [
      { key: 'order-1', value: '{"id":1}', headers: { traceparent: `00-${traceId}-${producerSpanId}-01`, tracestate: 'producer=1' } },
    ]);
    dispatcher = await startTestDispatcher({ topics: [topic], groupId: group, sinkUri: `${sink.url}/events`, format: 'cloudevents' });
    await waitFor(() => dispatcher!.metrics.totals.delivered === 1, 'delivery');
    await waitFor(() => exporter.getFinishedSpans().some((s) => s.kind === SpanKind.CONSUMER), 'the record span to end');

    const spans = exporter.getFinishedSpans();
    const recordSpan = spans.find((s) => s.kind === SpanKind.CONSUMER)!;
    const attempts = spans.filter((s) => s.kind === SpanKind.CLIENT);
    expect(recordSpan.name).toBe(`process ${topic}`);
    expect(recordSpan.spanContext().traceId).toBe(traceId);
    expect(recordSpan.parentSpanContext?.spanId).toBe(producerSpanId);
    expect(recordSpan.links.map((l) => l.context.spanId)).toEqual([producerSpanId]);
    const broker = brokerAddress(brokers()[0]!)!;
    expect(recordSpan.attributes).toMatchObject({
      [ATTR_OUTCOME]: 'delivered',
      'messaging.operation.name': 'process',
      'messaging.destination.name': topic,
      'messaging.destination.partition.id': '0',
      'messaging.kafka.offset': 0,
      'messaging.kafka.message.key': 'order-1',
      'messaging.consumer.group.name': group,
      'messaging.client.id': DEFAULTS.clientId,
      'server.address': broker.host,
      'server.port': broker.port,
    });
    expect(attempts).toHaveLength(2);

    expect(sink.requests).toHaveLength(2);
    for (const request of sink.requests) {
      const sent = parseTraceparent(request.headers.traceparent);
      // Same trace as the producer's...
      expect(sent.traceId).toBe(traceId);
      // ...and the sink's parent is the attempt span that sent this request,
      const attempt = attempts.find((a) => a.spanContext().spanId === sent.parentId);
      expect(attempt, `an attempt span ${sent.parentId}`).toBeDefined();
      expect(attempt!.name).toBe('POST');
      expect(attempt!.attributes['url.full']).toBe(`${sink.url}/events`);
      // ...whose parent is the record span, whose parent is the producer's span.
      expect(attempt!.parentSpanContext?.spanId).toBe(recordSpan.spanContext().spanId);
      expect(request.headers.tracestate).toBe('producer=1');
      // CloudEvents mode: the distributed-tracing extension says the same.
      expect(request.headers['ce-traceparent']).toBe(request.headers.traceparent);
    }
    const statuses = sink.requests.map(
      (r) =>
        attempts.find((a) => a.spanContext().spanId === parseTraceparent(r.headers.traceparent).parentId)!.attributes[
          'http.response.status_code'
        ],
    );
    expect(statuses).toEqual([503, 200]);
  });
});
