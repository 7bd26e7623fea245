import { context, diag, propagation, ProxyTracer, SpanKind, SpanStatusCode, trace, type Attributes, type Link } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SamplingDecision,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeCloudEvent, type CloudEventContext } from '../../src/dispatch/cloudevents.js';
import { encodeRaw } from '../../src/dispatch/encode.js';
import type { DispatchListener } from '../../src/dispatch/outcome.js';
import { RecordDispatcher, type RecordDispatcherOptions } from '../../src/dispatch/record-dispatcher.js';
import { redactUrl } from '../../src/config/redact.js';
import type { KafkaRecord } from '../../src/source/record.js';
import {
  ATTR_ATTEMPTS,
  ATTR_OUTCOME,
  ATTR_TARGET,
  brokerAddress,
  OtelRecordTracer,
  tracingRegistered,
  recordParentContext,
  SDK_INSTALL_HINT,
  SDK_PACKAGES,
  startTracingFromEnv,
  type SdkLoader,
  tracingRequested,
} from '../../src/telemetry/tracing.js';
import { ROOT } from '../helpers/cli.js';
import { FakeSender } from '../helpers/fake-sender.js';
import { startOtlpReceiver, type OtlpReceiver, type OtlpRequest } from '../helpers/otlp-receiver.js';

const BROKERS = ['kafka-0.kafka.svc:9093', 'kafka-1.kafka.svc:9093'];
const SINK = 'http://user:pass@sink.example:8080/events?query=music&sig=s3cret';
const DLS = 'https://dead-letter.example/dls';
const PRODUCER_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PRODUCER_SPAN_ID = '00f067aa0ba902b7';
const PRODUCER_TRACEPARENT = `00-${PRODUCER_TRACE_ID}-${PRODUCER_SPAN_ID}-01`;
const CONTEXT: CloudEventContext = { namespace: 'ns', name: 'my-source', keyType: 'string', extensions: {} };
const encodeCe = (r: KafkaRecord) => encodeCloudEvent(r, CONTEXT);

function makeRecord(overrides: Partial<KafkaRecord> = {}): KafkaRecord {
  return {
    topic: 'orders',
    partition: 3,
    offset: 42,
    key: Buffer.from('key-1'),
    value: Buffer.from('{"hello":"world"}'),
    headers: { 'content-type': 'application/json', traceparent: Buffer.from(PRODUCER_TRACEPARENT), tracestate: Buffer.from('vendor=abc') },
    timestamp: Date.now(),
    ...overrides,
  };
}

function dispatcher(sender: FakeSender, options: Partial<RecordDispatcherOptions> = {}): RecordDispatcher {
  const listener: DispatchListener = {};
  return new RecordDispatcher({
    sender,
    encode: encodeRaw,
    sinkUri: SINK,
    retry: 3,
    backoffPolicy: 'fixed',
    backoffDelayMs: 1,
    listener,
    tracer: new OtelRecordTracer({ consumerGroup: 'my-group', clientId: 'my-client', brokers: BROKERS }),
    ...options,
  });
}

/** `00-<trace id>-<parent id>-<flags>` in parts. */
function parseTraceparent(value: string | undefined): { traceId: string; parentId: string; flags: string } {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value ?? '');
  if (!match) throw new Error(`not a traceparent: ${value}`);
  return { traceId: match[1]!, parentId: match[2]!, flags: match[3]! };
}

let exporter: InMemorySpanExporter | undefined;

function registerSdk(): InMemorySpanExporter {
  exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  return exporter;
}

afterEach(() => {
  trace.disable();
  propagation.disable();
  context.disable();
  exporter?.reset();
  exporter = undefined;
});

function spansOf(spans: ReadableSpan[]) {
  const record = spans.filter((s) => s.kind === SpanKind.CONSUMER);
  const attempts = spans.filter((s) => s.kind === SpanKind.CLIENT).sort((a, b) => hr(a.startTime) - hr(b.startTime));
  return { record: record, attempts };
}

const hr = (t: [number, number]) => t[0] * 1e9 + t[1];

describe('tracing with an SDK registered', () => {
  it('makes the record span a child of the producer span, attempts children of the record span, and injects the attempt span', async () => {
    const spans = registerSdk();
    const sender = new FakeSender([503, 200]);
    const result = await dispatcher(sender).dispatch(makeRecord());
    expect(result).toMatchObject({ outcome: 'delivered', attempts: 2 });

    const { record: records, attempts } = spansOf(spans.getFinishedSpans());
    expect(records).toHaveLength(1);
    const record = records[0]!;
    // Messaging conventions: `{messaging.operation.name} {destination}`.
    expect(record.name).toBe('process orders');
    expect(record.spanContext().traceId).toBe(PRODUCER_TRACE_ID);
    expect(record.parentSpanContext?.spanId).toBe(PRODUCER_SPAN_ID);
    expect(record.parentSpanContext?.isRemote).toBe(true);
    // ...and a link to the message's creation context, what the conventions ask of every consumer span.
    expect(record.links).toHaveLength(1);
    expect(record.links[0]!.context).toMatchObject({ traceId: PRODUCER_TRACE_ID, spanId: PRODUCER_SPAN_ID, isRemote: true });
    expect(record.attributes).toEqual({
      'messaging.system': 'kafka',
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'orders',
      'messaging.destination.partition.id': '3',
      'messaging.kafka.offset': 42,
      'messaging.kafka.message.key': 'key-1',
      'messaging.message.body.size': 17,
      'messaging.consumer.group.name': 'my-group',
      'messaging.client.id': 'my-client',
      'server.address': 'kafka-0.kafka.svc',
      'server.port': 9093,
      [ATTR_OUTCOME]: 'delivered',
      [ATTR_ATTEMPTS]: 2,
    });
    // The deprecated name is gone.
    expect(record.attributes['messaging.kafka.message.offset']).toBeUndefined();
    expect(record.status.code).not.toBe(SpanStatusCode.ERROR);

    expect(attempts).toHaveLength(2);
    for (const attempt of attempts) {
      expect(attempt.name).toBe('POST');
      expect(attempt.spanContext().traceId).toBe(PRODUCER_TRACE_ID);
      expect(attempt.parentSpanContext?.spanId).toBe(record.spanContext().spanId);
      expect(attempt.attributes).toMatchObject({
        'http.request.method': 'POST',
        'url.full': 'http://REDACTED:REDACTED@sink.example:8080/events?query=music&sig=REDACTED',
        'server.address': 'sink.example',
        'server.port': 8080,
      });
    }
    const [first, second] = attempts as [ReadableSpan, ReadableSpan];
    expect(first.attributes['http.request.resend_count']).toBeUndefined();
    expect(first.attributes).toMatchObject({ 'http.response.status_code': 503, 'error.type': '503' });
    expect(first.status.code).toBe(SpanStatusCode.ERROR);
    expect(second.attributes).toMatchObject({ 'http.response.status_code': 200, 'http.request.resend_count': 1 });
    expect(second.attributes['error.type']).toBeUndefined();
    expect(second.status.code).not.toBe(SpanStatusCode.ERROR);

    // Each request carries its own attempt span as the parent, in the producer's trace.
    expect(sender.sinkCalls).toHaveLength(2);
    sender.sinkCalls.forEach((call, i) => {
      const sent = parseTraceparent(call.request.headers.traceparent);
      expect(sent.traceId).toBe(PRODUCER_TRACE_ID);
      expect(sent.parentId).toBe(attempts[i]!.spanContext().spanId);
      expect(sent.flags).toBe('01');
      expect(call.request.headers.tracestate).toBe('vendor=abc');
      // Raw mode: no CloudEvents extension.
      expect(call.request.headers['ce-traceparent']).toBeUndefined();
    });
    // The requests are copies: the encoded request is not changed from one attempt to the next.
    expect(sender.sinkCalls[0]!.request).not.toBe(sender.sinkCalls[1]!.request);
  });

  it('sets the CloudEvents traceparent extension in CloudEvents mode, and keeps one the event already has', async () => {
    const spans = registerSdk();
    const sender = new FakeSender([200]);
    await dispatcher(sender, { encode: encodeCe }).dispatch(makeRecord());
    const headers = sender.sinkCalls[0]!.request.headers;
    const attempt = spansOf(spans.getFinishedSpans()).attempts[0]!;
    expect(parseTraceparent(headers.traceparent).parentId).toBe(attempt.spanContext().spanId);
    expect(headers['ce-traceparent']).toBe(headers.traceparent);
    expect(headers['ce-tracestate']).toBe('vendor=abc');
    expect(headers['ce-specversion']).toBe('1.0');

    // A CloudEvent in Kafka binary mode with its own distributed-tracing extension: the origin stays.
    const origin = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    const ceRecord = makeRecord({
      headers: { ce_specversion: '1.0', ce_id: 'e1', ce_source: '/s', ce_type: 't', ce_traceparent: origin },
    });
    const sender2 = new FakeSender([200]);
    spans.reset();
    await dispatcher(sender2, { encode: encodeCe }).dispatch(ceRecord);
    const sent = sender2.sinkCalls[0]!.request.headers;
    expect(sent['ce-traceparent']).toBe(origin);
    // With no traceparent header, ce_traceparent is the parent of the record span.
    const { record } = spansOf(spans.getFinishedSpans());
    expect(record[0]!.parentSpanContext?.spanId).toBe('b'.repeat(16));
    expect(parseTraceparent(sent.traceparent).traceId).toBe('a'.repeat(32));
  });

  it('ends the record span with the outcome, and traces dead-letter attempts as such', async () => {
    const spans = registerSdk();
    const sender = new FakeSender([400], { [DLS]: [500, 202] });
    const result = await dispatcher(sender, { encode: encodeCe, deadLetters: { sink: { uri: DLS, encode: encodeCe } } }).dispatch(
      makeRecord(),
    );
    expect(result).toMatchObject({ outcome: 'dead-lettered', attempts: 1 });
    const { record, attempts } = spansOf(spans.getFinishedSpans());
    expect(record[0]!.attributes).toMatchObject({ [ATTR_OUTCOME]: 'dead-lettered', [ATTR_ATTEMPTS]: 1, 'error.type': '400' });
    expect(record[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(attempts).toHaveLength(3);
    const [sink, dead1, dead2] = attempts as [ReadableSpan, ReadableSpan, ReadableSpan];
    expect(sink.attributes[ATTR_TARGET]).toBeUndefined();
    expect(dead1.attributes).toMatchObject({
      [ATTR_TARGET]: 'dead-letter',
      'url.full': DLS,
      'server.port': 443,
      'http.response.status_code': 500,
    });
    expect(dead2.attributes).toMatchObject({
      [ATTR_TARGET]: 'dead-letter',
      'http.request.resend_count': 1,
      'http.response.status_code': 202,
    });
    for (const a of attempts) expect(a.parentSpanContext?.spanId).toBe(record[0]!.spanContext().spanId);
    const deadCall = sender.callsTo(DLS)[1]!;
    expect(parseTraceparent(deadCall.request.headers.traceparent).parentId).toBe(dead2.spanContext().spanId);
    expect(deadCall.request.headers['ce-traceparent']).toBe(deadCall.request.headers.traceparent);
  });

  it('records transport errors and the skipped and discarded outcomes', async () => {
    const spans = registerSdk();
    await dispatcher(new FakeSender(['timeout']), { retry: 0 }).dispatch(makeRecord());
    let { record, attempts } = spansOf(spans.getFinishedSpans());
    expect(record[0]!.attributes).toMatchObject({ [ATTR_OUTCOME]: 'skipped', [ATTR_ATTEMPTS]: 1 });
    expect(attempts[0]!.attributes['error.type']).toBe('timeout');
    expect(attempts[0]!.attributes['http.response.status_code']).toBeUndefined();
    expect(attempts[0]!.status.code).toBe(SpanStatusCode.ERROR);

    spans.reset();
    const bad = makeRecord({ headers: { 'content-type': 'application/cloudevents+json' }, value: Buffer.from('not json') });
    await dispatcher(new FakeSender([200]), { encode: encodeCe }).dispatch(bad);
    ({ record, attempts } = spansOf(spans.getFinishedSpans()));
    expect(attempts).toHaveLength(0);
    expect(record[0]!.attributes).toMatchObject({ [ATTR_OUTCOME]: 'discarded', [ATTR_ATTEMPTS]: 0, 'error.type': 'KD_RECORD_INVALID' });
    // No trace context in the record: a new trace (no parent).
    expect(record[0]!.parentSpanContext).toBeUndefined();
  });

  it('starts a new trace for a record without trace context, and still injects it', async () => {
    const spans = registerSdk();
    const sender = new FakeSender([200]);
    await dispatcher(sender).dispatch(makeRecord({ headers: {}, key: Buffer.from([0xff, 0xfe, 0x00]) }));
    const { record, attempts } = spansOf(spans.getFinishedSpans());
    expect(record[0]!.parentSpanContext).toBeUndefined();
    expect(record[0]!.links).toEqual([]);
    expect(record[0]!.attributes['messaging.kafka.message.key']).toBeUndefined();
    const sent = parseTraceparent(sender.sinkCalls[0]!.request.headers.traceparent);
    expect(sent.traceId).toBe(record[0]!.spanContext().traceId);
    expect(sent.parentId).toBe(attempts[0]!.spanContext().spanId);
  });

  it('gives a sampler the destination, partition, group, operation and broker when the span is created', async () => {
    const seen: Array<{ name: string; attributes: Attributes; links: Link[] }> = [];
    const sampler: Sampler = {
      shouldSample: (_context, _traceId, name, _kind, attributes, links) => {
        seen.push({ name, attributes: { ...attributes }, links });
        return { decision: SamplingDecision.RECORD_AND_SAMPLED };
      },
      toString: () => 'recording sampler',
    };
    const spans = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(spans)] }));
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    await dispatcher(new FakeSender([200])).dispatch(makeRecord());
    const recordSample = seen.find((s) => s.name === 'process orders')!;
    expect(recordSample.attributes).toEqual({
      'messaging.system': 'kafka',
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'orders',
      'messaging.destination.partition.id': '3',
      'messaging.consumer.group.name': 'my-group',
      'messaging.client.id': 'my-client',
      'server.address': 'kafka-0.kafka.svc',
      'server.port': 9093,
    });
    expect(recordSample.links.map((l) => l.context.spanId)).toEqual([PRODUCER_SPAN_ID]);
  });

  it('marks a tombstone, and leaves out what it was not told (group, client id, broker)', async () => {
    const spans = registerSdk();
    await dispatcher(new FakeSender([200]), { tracer: new OtelRecordTracer() }).dispatch(makeRecord({ value: null, key: null }));
    const { record } = spansOf(spans.getFinishedSpans());
    expect(record[0]!.attributes['messaging.kafka.message.tombstone']).toBe(true);
    expect(record[0]!.attributes['messaging.message.body.size']).toBeUndefined();
    for (const name of [
      'messaging.consumer.group.name',
      'messaging.client.id',
      'server.address',
      'server.port',
      'messaging.kafka.message.key',
    ]) {
      expect(record[0]!.attributes[name], name).toBeUndefined();
    }
  });

  it('reads the parent from headers given as strings, arrays or in another case', () => {
    registerSdk();
    for (const headers of [
      { traceparent: PRODUCER_TRACEPARENT },
      { TraceParent: Buffer.from(PRODUCER_TRACEPARENT) },
      { traceparent: [Buffer.from(PRODUCER_TRACEPARENT)] },
    ]) {
      const parent = trace.getSpanContext(recordParentContext(makeRecord({ headers })));
      expect(parent).toMatchObject({ traceId: PRODUCER_TRACE_ID, spanId: PRODUCER_SPAN_ID, isRemote: true });
    }
    expect(trace.getSpanContext(recordParentContext(makeRecord({ headers: { traceparent: 'garbage' } })))).toBeUndefined();
  });
});

describe('tracing without an SDK', () => {
  it('forwards the record traceparent and tracestate unchanged (and as the CloudEvents extension)', async () => {
    const sender = new FakeSender([503, 200]);
    await dispatcher(sender).dispatch(makeRecord());
    for (const call of sender.sinkCalls) {
      expect(call.request.headers.traceparent).toBe(PRODUCER_TRACEPARENT);
      expect(call.request.headers.tracestate).toBe('vendor=abc');
    }
    const ceSender = new FakeSender([200]);
    await dispatcher(ceSender, { encode: encodeCe }).dispatch(makeRecord());
    expect(ceSender.sinkCalls[0]!.request.headers).toMatchObject({
      traceparent: PRODUCER_TRACEPARENT,
      'ce-traceparent': PRODUCER_TRACEPARENT,
      'ce-tracestate': 'vendor=abc',
    });
  });

  it('leaves the request alone when the record has no trace context', async () => {
    const sender = new FakeSender([200]);
    const request = { headers: { 'content-type': 'text/plain' }, body: Buffer.from('x') };
    await dispatcher(sender, { encode: () => request }).dispatch(makeRecord({ headers: {} }));
    expect(sender.sinkCalls[0]!.request).toBe(request);
  });
});

describe('tracing registered after the dispatcher started', () => {
  it('makes no spans without an SDK, and records every record once one is registered', async () => {
    const sender = new FakeSender([200, 200]);
    const d = dispatcher(sender);
    const startSpan = vi.spyOn(ProxyTracer.prototype, 'startSpan');
    await d.dispatch(makeRecord());
    expect(startSpan).not.toHaveBeenCalled();
    startSpan.mockRestore();
    expect(tracingRegistered()).toBe(false);

    const spans = registerSdk();
    expect(tracingRegistered()).toBe(true);
    await d.dispatch(makeRecord());
    expect(spans.getFinishedSpans().map((span) => span.kind)).toEqual([SpanKind.CLIENT, SpanKind.CONSUMER]);
    expect(parseTraceparent(sender.sinkCalls[1]!.request.headers.traceparent).traceId).toBe(PRODUCER_TRACE_ID);
  });
});

describe('brokerAddress', () => {
  it('splits host:port, IPv6 in brackets, and refuses what is not that', () => {
    expect(brokerAddress('kafka:9092')).toEqual({ host: 'kafka', port: 9092 });
    expect(brokerAddress('10.0.0.7:19092')).toEqual({ host: '10.0.0.7', port: 19092 });
    expect(brokerAddress('[fd00::1]:9093')).toEqual({ host: 'fd00::1', port: 9093 });
    expect(brokerAddress('kafka')).toBeUndefined();
    expect(brokerAddress(':9092')).toBeUndefined();
  });
});

describe('url.full', () => {
  it('redacts credentials and secret-looking query values only', () => {
    expect(redactUrl('http://sink.example/a?query=music')).toBe('http://sink.example/a?query=music');
    expect(redactUrl('https://u:p@sink.example/a')).toBe('https://REDACTED:REDACTED@sink.example/a');
    expect(redactUrl('https://s.example/a?X-Amz-Signature=abc&page=2&api_key=k')).toBe(
      'https://s.example/a?X-Amz-Signature=REDACTED&page=2&api_key=REDACTED',
    );
  });
});

describe('startTracingFromEnv (the real SDK, exporting to a loopback OTLP receiver)', () => {
  const logs: Array<{ level: string; obj: object; msg?: string | undefined }> = [];
  const logger = {
    info: (obj: object, msg?: string) => logs.push({ level: 'info', obj, msg }),
    warn: (obj: object, msg?: string) => logs.push({ level: 'warn', obj, msg }),
  };
  let receiver: OtlpReceiver | undefined;
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
    stop = undefined;
    await receiver?.close();
    receiver = undefined;
    vi.unstubAllEnvs();
    diag.disable();
    logs.length = 0;
  });

  /** Sets the variables (the SDK reads process.env itself) and starts tracing from them. */
  async function startWith(vars: Record<string, string>, load?: SdkLoader) {
    for (const [name, value] of Object.entries(vars)) vi.stubEnv(name, value);
    stop = await startTracingFromEnv(process.env, logger, load);
    return stop;
  }

  it('is off unless the environment asks for OTLP', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe(false);
    expect(tracingRequested({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toBe(false);
  });

  it('loads nothing when not asked', async () => {
    let loaded = false;
    await startWith({}, async () => {
      loaded = true;
      throw new Error('not to be loaded');
    });
    expect(loaded).toBe(false);
    expect(logs).toEqual([]);
  });

  it('exports the record and attempt spans as OTLP/JSON, with the service name, version and resource attributes', async () => {
    receiver = await startOtlpReceiver();
    await startWith({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'orders-dispatcher',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
    });
    expect(logs.filter((l) => l.level === 'warn')).toEqual([]);
    expect(logs.at(-1)!.msg).toBe('OpenTelemetry tracing started (OTLP export)');
    const sender = new FakeSender([200]);
    // No registerSdk(): startTracingFromEnv set up the provider, context manager and propagator.
    await dispatcher(sender).dispatch(makeRecord());
    await stop!();

    expect(receiver.requests.map((r) => [r.path, r.contentType])).toEqual([['/v1/traces', 'application/json']]);
    const { resource, spans } = receiver.jsonSpans();
    expect(resource).toMatchObject({
      'service.name': 'orders-dispatcher',
      'service.version': JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
      'deployment.environment.name': 'test',
      'telemetry.sdk.language': 'nodejs',
    });
    const record = spans.find((s) => s.name === 'process orders')!;
    expect(record).toBeDefined();
    expect(record.kind).toBe(5); // SPAN_KIND_CONSUMER
    expect(record.traceId).toBe(PRODUCER_TRACE_ID);
    expect(record.parentSpanId).toBe(PRODUCER_SPAN_ID);
    expect(record.links).toEqual([{ traceId: PRODUCER_TRACE_ID, spanId: PRODUCER_SPAN_ID }]);
    expect(record.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.name': 'process',
      'messaging.kafka.offset': 42,
      'messaging.client.id': 'my-client',
      'server.address': 'kafka-0.kafka.svc',
      'server.port': 9093,
      [ATTR_OUTCOME]: 'delivered',
    });
    const attempt = spans.find((s) => s.name === 'POST')!;
    expect(attempt.kind).toBe(3); // SPAN_KIND_CLIENT
    expect(attempt.parentSpanId).toBe(record.spanId);
    expect(attempt.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 200 });
    // The propagator the SDK set up put the attempt span into the request.
    expect(parseTraceparent(sender.sinkCalls[0]!.request.headers.traceparent).parentId).toBe(attempt.spanId);
  });

  it('exports OTLP/protobuf by default (the protocol the specification makes the default)', async () => {
    receiver = await startOtlpReceiver();
    await startWith({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/custom/traces` });
    await dispatcher(new FakeSender([200])).dispatch(makeRecord());
    await stop!();
    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests as [OtlpRequest];
    // A signal-specific endpoint is used as it is.
    expect(request.path).toBe('/custom/traces');
    expect(request.contentType).toBe('application/x-protobuf');
    // Protobuf carries the ids as raw bytes and the names as UTF-8.
    expect(request.body.includes(Buffer.from(PRODUCER_TRACE_ID, 'hex'))).toBe(true);
    expect(request.body.includes(Buffer.from('process orders'))).toBe(true);
    expect(request.body.includes(Buffer.from('messaging.kafka.offset'))).toBe(true);
  });

  it('honours OTEL_PROPAGATORS=none: spans are exported but nothing is injected into the request', async () => {
    receiver = await startOtlpReceiver();
    await startWith({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_PROPAGATORS: 'none' });
    const sender = new FakeSender([200]);
    await dispatcher(sender).dispatch(makeRecord({ headers: {} }));
    await stop!();
    expect(
      receiver
        .jsonSpans()
        .spans.map((s) => s.name)
        .sort(),
    ).toEqual(['POST', 'process orders']);
    expect(sender.sinkCalls[0]!.request.headers.traceparent).toBeUndefined();
  });

  it('refuses gRPC (not in the package) with a warning that says what to set, and loads nothing', async () => {
    let loaded = false;
    await startWith({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, async () => {
      loaded = true;
      throw new Error('not to be loaded');
    });
    expect(loaded).toBe(false);
    expect(logs).toHaveLength(1);
    expect(logs[0]!.level).toBe('warn');
    expect(logs[0]!.msg).toContain('OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf');
    expect(trace.getTracer('x').startSpan('y').isRecording()).toBe(false);
  });

  it('warns with the install command and carries on when the SDK packages are missing (--omit=optional)', async () => {
    await startWith({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, async () => {
      throw Object.assign(new Error("Cannot find package '@opentelemetry/sdk-trace-base'"), { code: 'ERR_MODULE_NOT_FOUND' });
    });
    expect(logs).toHaveLength(1);
    expect(logs[0]!.level).toBe('warn');
    expect(logs[0]!.msg).toContain(SDK_INSTALL_HINT);
    // The hint names exactly what otlp.ts imports, all of them in package.json's optionalDependencies.
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> };
    const imported = [...readFileSync(join(ROOT, 'src/telemetry/otlp.ts'), 'utf8').matchAll(/from '(@opentelemetry\/[^']+)'/g)]
      .map((m) => m[1]!)
      .filter((name) => name !== '@opentelemetry/api');
    expect([...SDK_PACKAGES].sort()).toEqual([...new Set(imported)].sort());
    expect(Object.keys(pkg.optionalDependencies).sort()).toEqual([...SDK_PACKAGES].sort());
  });
});
