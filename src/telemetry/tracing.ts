/**
 * OpenTelemetry tracing of dispatches, through `@opentelemetry/api` only, following OpenTelemetry's
 * HTTP semantic conventions and its messaging (Kafka) ones as of v1.3x, the names current Kafka
 * instrumentations emit (v1.45 renames them again: `kafka.offset`, `kafka.message.key`,
 * `messaging.system.name`; the messaging conventions are not stable yet).
 *
 * - One CONSUMER span per record, `process <topic>`, with `messaging.system=kafka`,
 *   `messaging.operation.name` / `.type` = `process`, `messaging.destination.name`,
 *   `messaging.destination.partition.id`, `messaging.consumer.group.name`, `messaging.client.id`,
 *   `server.address` / `server.port` (the first bootstrap server), `messaging.kafka.offset`,
 *   `messaging.kafka.message.key` (printable keys only), `messaging.kafka.message.tombstone` or
 *   `messaging.message.body.size`. The W3C trace context (`traceparent`/`tracestate`) found in the
 *   record's Kafka headers (`ce_traceparent`/`ce_tracestate`, the CloudEvents Kafka binding of the
 *   distributed-tracing extension, when there is no `traceparent`) is the message's creation
 *   context: the span links to it and, as the conventions allow for a single message, is its child,
 *   so producer, dispatcher and sink share one trace. It ends with `kafka_dispatch.outcome` and
 *   `kafka_dispatch.attempts`, and `error.type` when the record was not delivered.
 * - One CLIENT span per HTTP attempt (`POST`), child of the record span, with the HTTP semantic
 *   attributes (`http.request.method`, `url.full` without credentials or secret-looking query values,
 *   `server.address`, `server.port`, `http.response.status_code`, `http.request.resend_count`,
 *   `error.type`). Dead-letter attempts carry `kafka_dispatch.target=dead-letter`.
 * - The attempt span's context is injected into the request (`traceparent`, `tracestate`, via the
 *   global propagator), so the sink's span is a child of the attempt. A CloudEvent (the request has
 *   `ce-specversion`) also gets the distributed-tracing extension `ce-traceparent`/`ce-tracestate`,
 *   unless the event already carries one: that one is the event's origin and is kept.
 *
 * No SDK registered (the default: no tracer provider and no propagator): no span objects are made at
 * all, since the API would hand out non-recording ones. The record's own `traceparent`/`tracestate` are forwarded unchanged as HTTP headers
 * (and as `ce-traceparent` in CloudEvents mode): the sink still continues the producer's trace, with
 * the dispatcher invisible in it.
 *
 * An SDK can be registered by the embedding program, or from the environment with
 * `startTracingFromEnv` (OTLP over HTTP; src/telemetry/otlp.ts, loaded only then).
 */
import { readFileSync } from 'node:fs';
import {
  context as otelContext,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  ProxyTracerProvider,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanOptions,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { redactUrl } from '../config/redact.js';
// Types only (erased): the module itself is imported lazily, in startTracingFromEnv.
import type { startOtlpTracing } from './otlp.js';
import type { OutboundRequest } from '../sink/sender.js';
import type { DispatchResult } from '../dispatch/outcome.js';
import type { AttemptTrace, RecordTrace, RecordTracer } from '../dispatch/record-tracer.js';
import type { DispatchError } from '../errors.js';
import { headerText, lastHeader } from '../source/headers.js';
import type { KafkaRecord } from '../source/record.js';

export const TRACER_NAME = 'kafka-dispatch';
export const TRACER_VERSION: string | undefined = readVersion();

/** Attribute names of our own (not in the semantic conventions). */
export const ATTR_OUTCOME = 'kafka_dispatch.outcome';
export const ATTR_ATTEMPTS = 'kafka_dispatch.attempts';
export const ATTR_TARGET = 'kafka_dispatch.target';

/** Keys longer than this (or not valid UTF-8 text) are not put on the record span. */
const MAX_KEY_ATTRIBUTE_LENGTH = 256;

const TRACEPARENT = 'traceparent';
const TRACESTATE = 'tracestate';
const CE_KAFKA_PREFIX = 'ce_';

let cachedProvider: TracerProvider | undefined;
let cachedTracer: Tracer | undefined;

/**
 * The dispatcher's tracer, from the global provider of the moment. A tracer is not kept across a
 * change of provider: `trace.disable()` followed by a new registration (tests) gets a fresh one.
 */
export function getTracer(): Tracer {
  const provider = trace.getTracerProvider();
  if (provider !== cachedProvider || !cachedTracer) {
    cachedProvider = provider;
    cachedTracer = provider.getTracer(TRACER_NAME, TRACER_VERSION);
  }
  return cachedTracer;
}

/** Reads Kafka record headers with the one header rule (src/source/headers.ts): case-insensitive, last wins. */
export const kafkaHeadersGetter: TextMapGetter<KafkaRecord['headers']> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => headerText(carrier, key),
};

/**
 * The Kafka headers the trace context is read from: the record's own, with `ce_traceparent` /
 * `ce_tracestate` standing in for missing `traceparent` / `tracestate`.
 */
function traceCarrier(headers: KafkaRecord['headers']): KafkaRecord['headers'] {
  if (lastHeader(headers, TRACEPARENT) !== undefined) return headers;
  const ceParent = lastHeader(headers, CE_KAFKA_PREFIX + TRACEPARENT);
  if (ceParent === undefined) return headers;
  const ceState = lastHeader(headers, CE_KAFKA_PREFIX + TRACESTATE);
  const carrier: KafkaRecord['headers'] = Object.assign({}, headers, { [TRACEPARENT]: ceParent });
  if (ceState !== undefined) carrier[TRACESTATE] = ceState;
  return carrier;
}

/** The context the record was produced in (ROOT_CONTEXT when it carries none, or no propagator is set). */
export function recordParentContext(record: KafkaRecord): Context {
  return propagation.extract(ROOT_CONTEXT, traceCarrier(record.headers), kafkaHeadersGetter);
}

const requestHeadersSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

export interface RecordTraceOptions {
  consumerGroup?: string | undefined;
  /** The Kafka client id (`messaging.client.id`). */
  clientId?: string | undefined;
  /** Bootstrap servers `host:port`; the first is the span's `server.address` / `server.port`. */
  brokers?: readonly string[] | undefined;
}

/** The record dispatcher's tracer (src/dispatch/record-tracer.ts) with OpenTelemetry spans. */
export class OtelRecordTracer implements RecordTracer {
  private readonly common: Attributes;

  constructor(options: RecordTraceOptions = {}) {
    this.common = commonAttributes(options);
  }

  start(record: KafkaRecord): RecordTrace {
    // Without an SDK every span would be a non-recording one: skip making them, keep the forwarding.
    if (!tracingRegistered()) return forwardingTrace(record);
    return startRecordTraceWith(record, this.common);
  }
}

/**
 * True when spans could be recorded or propagated: a tracer provider or a propagator is registered.
 * Asked per record, so that a provider registered after the start (an embedding program, tests)
 * still gets every record from then on.
 */
export function tracingRegistered(): boolean {
  const provider = trace.getTracerProvider();
  if (!(provider instanceof ProxyTracerProvider) || provider.getDelegateTracer(TRACER_NAME, TRACER_VERSION) !== undefined) return true;
  return propagation.fields().length > 0;
}

const runNow = <T>(fn: () => T): T => fn();
const nothing = (): void => {};

/**
 * The trace of a record when no SDK is registered: no spans, and each request carries the record's
 * own trace context on, as the spans' propagation would have (withTraceHeaders without an injector).
 */
function forwardingTrace(record: KafkaRecord): RecordTrace {
  const traceHeaders = forwardedTraceHeaders(record);
  if (traceHeaders === undefined) return UNTRACED_RECORD;
  return {
    with: runNow,
    attempt: (request) => ({ request: withHeaders(request, traceHeaders), with: runNow, end: nothing }),
    finish: nothing,
  };
}

const UNTRACED_RECORD: RecordTrace = {
  with: runNow,
  attempt: (request) => ({ request, with: runNow, end: nothing }),
  finish: nothing,
};

/** The record's `traceparent` / `tracestate` (or their `ce_` forms), or undefined when it has none. */
function forwardedTraceHeaders(record: KafkaRecord): Record<string, string> | undefined {
  const carrier = traceCarrier(record.headers);
  const traceparent = headerText(carrier, TRACEPARENT);
  if (traceparent === undefined) return undefined;
  const tracestate = headerText(carrier, TRACESTATE);
  return { [TRACEPARENT]: traceparent, ...(tracestate ? { [TRACESTATE]: tracestate } : {}) };
}

/**
 * The request with the trace headers added; a CloudEvent also gets the distributed-tracing
 * extension, unless it already has one: that one is the event's origin and is kept.
 */
function withHeaders(request: OutboundRequest, traceHeaders: Record<string, string>): OutboundRequest {
  // Object.assign: several times faster than a spread here, and this runs for every attempt.
  const headers: Record<string, string> = Object.assign({}, request.headers, traceHeaders);
  const traceparent = traceHeaders[TRACEPARENT];
  if (traceparent !== undefined && 'ce-specversion' in request.headers && !('ce-traceparent' in request.headers)) {
    headers['ce-traceparent'] = traceparent;
    const tracestate = traceHeaders[TRACESTATE];
    if (tracestate) headers['ce-tracestate'] = tracestate;
  }
  return { headers, body: request.body };
}

/**
 * The tracing of one record's dispatch: its span, and the attempt spans under it. Made by
 * `startRecordTrace`; `finish` ends it.
 */
export class OtelRecordTrace implements RecordTrace {
  private readonly childContext: Context;

  constructor(
    private readonly record: KafkaRecord,
    private readonly tracer: Tracer,
    readonly span: Span,
    parent: Context,
  ) {
    // A no-op tracer without a parent hands out an invalid span: nothing to put in the context.
    this.childContext = trace.isSpanContextValid(span.spanContext()) ? trace.setSpan(parent, span) : parent;
  }

  /** Runs `fn` with the record span as the active span (for code that reads the active context). */
  with<T>(fn: () => T): T {
    return otelContext.with(this.childContext, fn);
  }

  /**
   * Starts the span of one HTTP POST to `targetUri` (the sink, or a dead letter when `deadLetter`)
   * and returns the request to send, carrying the trace context. `attempt` counts from 1. The
   * attempt's `with` runs the send with the attempt span active, so an instrumented HTTP client
   * nests under it.
   */
  attempt(request: OutboundRequest, targetUri: string, attempt: number, deadLetter = false): AttemptTrace {
    const span = this.tracer.startSpan('POST', { kind: SpanKind.CLIENT }, this.childContext);
    if (span.isRecording()) {
      const attributes: Attributes = { 'http.request.method': 'POST', ...targetAttributes(targetUri) };
      if (attempt > 1) attributes['http.request.resend_count'] = attempt - 1;
      if (deadLetter) attributes[ATTR_TARGET] = 'dead-letter';
      span.setAttributes(attributes);
    }
    const spanContext = trace.isSpanContextValid(span.spanContext()) ? trace.setSpan(this.childContext, span) : this.childContext;
    return {
      request: this.withTraceHeaders(request, spanContext),
      with: (fn) => otelContext.with(spanContext, fn),
      end: (result) => {
        if (span.isRecording()) {
          if (result.status !== undefined) span.setAttribute('http.response.status_code', result.status);
          if (result.error) {
            span.setAttribute('error.type', errorType(result));
            span.setStatus({ code: SpanStatusCode.ERROR, message: result.error.message });
          }
        }
        span.end();
      },
    };
  }

  /** Ends the record span; `result` undefined = a hard stop left the record unfinished. */
  finish(result: Pick<DispatchResult, 'outcome' | 'attempts' | 'status' | 'error'> | undefined): void {
    const { span } = this;
    if (span.isRecording()) {
      if (!result) {
        span.setAttribute(ATTR_OUTCOME, 'unfinished');
      } else {
        span.setAttributes({ [ATTR_OUTCOME]: result.outcome, [ATTR_ATTEMPTS]: result.attempts });
        if (result.outcome !== 'delivered') {
          if (result.error) span.setAttribute('error.type', errorType(result));
          span.setStatus({ code: SpanStatusCode.ERROR, ...(result.error ? { message: result.error.message } : {}) });
        }
      }
    }
    span.end();
  }

  private withTraceHeaders(request: OutboundRequest, spanContext: Context): OutboundRequest {
    const injected: Record<string, string> = {};
    propagation.inject(spanContext, injected, requestHeadersSetter);
    // No propagator (no SDK): pass the producer's context on as it came.
    const traceHeaders = Object.keys(injected).length > 0 ? injected : forwardedTraceHeaders(this.record);
    return traceHeaders === undefined ? request : withHeaders(request, traceHeaders);
  }
}

/** The messaging operation of the record span (`messaging.operation.name`, and its type). */
export const OPERATION = 'process';

/**
 * Starts the CONSUMER span of a record, `process <topic>`: child of the context in its headers (the
 * message's creation context, as the messaging conventions allow for a single message) and linked to
 * it (what they ask of every consumer span).
 */
export function startRecordTrace(record: KafkaRecord, options: RecordTraceOptions = {}): OtelRecordTrace {
  return startRecordTraceWith(record, commonAttributes(options));
}

function startRecordTraceWith(record: KafkaRecord, common: Attributes): OtelRecordTrace {
  const tracer = getTracer();
  const parent = recordParentContext(record);
  const producer = trace.getSpanContext(parent);
  // The attributes the conventions want at creation time (for samplers); the others once recording.
  // A spread of the fixed-shape common attributes: several times faster here than Object.assign.
  const options: SpanOptions = {
    kind: SpanKind.CONSUMER,
    attributes: {
      ...common,
      'messaging.destination.name': record.topic,
      'messaging.destination.partition.id': String(record.partition),
    },
  };
  if (producer !== undefined && trace.isSpanContextValid(producer)) options.links = [{ context: producer }];
  const span = tracer.startSpan(`${OPERATION} ${record.topic}`, options, parent);
  if (span.isRecording()) span.setAttributes(recordAttributes(record));
  return new OtelRecordTrace(record, tracer, span, parent);
}

/** What every record span of one dispatcher has in common. */
function commonAttributes(options: RecordTraceOptions): Attributes {
  const attributes: Attributes = {
    'messaging.system': 'kafka',
    'messaging.operation.name': OPERATION,
    'messaging.operation.type': OPERATION,
  };
  if (options.consumerGroup) attributes['messaging.consumer.group.name'] = options.consumerGroup;
  if (options.clientId) attributes['messaging.client.id'] = options.clientId;
  const broker = options.brokers?.[0] ? brokerAddress(options.brokers[0]) : undefined;
  if (broker) {
    attributes['server.address'] = broker.host;
    attributes['server.port'] = broker.port;
  }
  return attributes;
}

/** `host:port` (IPv6 in brackets) → its parts; undefined when it is not that. */
export function brokerAddress(broker: string): { host: string; port: number } | undefined {
  const match = /^(.*):(\d+)$/.exec(broker.trim());
  if (!match || match[1] === '') return undefined;
  const host = match[1]!.startsWith('[') && match[1]!.endsWith(']') ? match[1]!.slice(1, -1) : match[1]!;
  return { host, port: Number(match[2]) };
}

function recordAttributes(record: KafkaRecord): Attributes {
  const attributes: Attributes = { 'messaging.kafka.offset': record.offset };
  const key = printableKey(record.key);
  if (key !== undefined) attributes['messaging.kafka.message.key'] = key;
  if (record.value === null) attributes['messaging.kafka.message.tombstone'] = true;
  else attributes['messaging.message.body.size'] = record.value.length;
  return attributes;
}

/** The key as text when it is short, valid UTF-8 without control characters. */
function printableKey(key: Buffer | null): string | undefined {
  if (key === null || key.length === 0 || key.length > MAX_KEY_ATTRIBUTE_LENGTH) return undefined;
  const text = key.toString('utf8');
  // Control characters make a key unreadable as an attribute.
  // eslint-disable-next-line no-control-regex
  if (text.includes('\uFFFD') || /[\x00-\x1f\x7f]/.test(text)) return undefined;
  return text;
}

const targetCache = new Map<string, Attributes>();

/** url.full, server.address and server.port of a target, worked out once per URI. */
function targetAttributes(uri: string): Attributes {
  let attributes = targetCache.get(uri);
  if (!attributes) {
    attributes = describeTarget(uri);
    if (targetCache.size < 64) targetCache.set(uri, attributes);
  }
  return attributes;
}

function describeTarget(uri: string): Attributes {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return {};
  }
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : url.protocol === 'http:' ? 80 : undefined;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { 'url.full': redactUrl(uri), 'server.address': host, ...(port !== undefined ? { 'server.port': port } : {}) };
}

/** `error.type`: the HTTP status for an answer, the transport's error code, else our code. */
function errorType(result: { status?: number | undefined; error?: DispatchError | undefined }): string {
  const { error } = result;
  if (error && 'status' in error && typeof error.status === 'number') return String(error.status);
  if (error && 'timedOut' in error && error.timedOut === true) return 'timeout';
  const causeCode = (error?.cause as { code?: unknown } | undefined)?.code;
  if (typeof causeCode === 'string' && causeCode !== '') return causeCode;
  if (result.status !== undefined) return String(result.status);
  return error?.code ?? '_OTHER';
}

function readVersion(): string | undefined {
  try {
    // src/telemetry/ and dist/telemetry/ are both two levels below package.json.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name?: string; version?: string };
    return pkg.name === 'kafka-dispatch' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// OTLP export from the environment
// ---------------------------------------------------------------------------------------------

export interface TracingLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Loads ./otlp.js (the SDK and its exporters); replaceable in tests. */
export type SdkLoader = () => Promise<{ startOtlpTracing: typeof startOtlpTracing }>;

/** The packages ./otlp.js imports: optionalDependencies, in the image unless built with --omit=optional. */
export const SDK_PACKAGES = [
  '@opentelemetry/context-async-hooks',
  '@opentelemetry/core',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/exporter-trace-otlp-proto',
  '@opentelemetry/resources',
  '@opentelemetry/sdk-trace-base',
] as const;
export const SDK_INSTALL_HINT = `npm install ${SDK_PACKAGES.join(' ')}`;

/** True when the environment asks for OTLP trace export. */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if (isTrue(env.OTEL_SDK_DISABLED)) return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (exporters.includes('none')) return false;
  if (exporters.includes('otlp')) return true;
  return exporters.length === 0 && Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** The OTLP protocol asked for (`http/protobuf` by default, as the specification says). */
export function tracesProtocol(env: NodeJS.ProcessEnv): string {
  return (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim().toLowerCase();
}

/**
 * Starts OpenTelemetry tracing with OTLP export when the environment asks for it
 * (`OTEL_TRACES_EXPORTER=otlp`, or an `OTEL_EXPORTER_OTLP_ENDPOINT` /
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turn
 * it off). Protocols: `http/protobuf` (the default) and `http/json`; `grpc` is refused with a
 * warning. The service name is `OTEL_SERVICE_NAME`, else `kafka-dispatch`; the SDK reads the other
 * `OTEL_*` variables itself (src/telemetry/otlp.ts).
 *
 * The SDK is imported here and only here, when asked for: without the variables nothing of it is
 * loaded. When its packages are missing (installed with --omit=optional), a warning says what to
 * install and the dispatcher runs without tracing. Never throws.
 *
 * Returns the shutdown (flushes the spans still buffered); a no-op when nothing was started.
 */
export async function startTracingFromEnv(
  env: NodeJS.ProcessEnv,
  logger: TracingLogger,
  load: SdkLoader = () => import('./otlp.js'),
): Promise<() => Promise<void>> {
  const nothing = async () => {};
  if (!tracingRequested(env)) return nothing;
  const protocol = tracesProtocol(env);
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    logger.warn(
      { protocol },
      `OTLP protocol ${protocol} is not supported; running without tracing. Set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf (or http/json) and point OTEL_EXPORTER_OTLP_ENDPOINT at the collector's HTTP port (4318)`,
    );
    return nothing;
  }
  let sdk: Awaited<ReturnType<SdkLoader>>;
  try {
    sdk = await load();
  } catch (error) {
    logger.warn(
      { err: error, install: SDK_INSTALL_HINT },
      `OTLP tracing was asked for (OTEL_* environment) but the OpenTelemetry SDK cannot be loaded; running without tracing. Install it with: ${SDK_INSTALL_HINT}`,
    );
    return nothing;
  }
  const serviceName = env.OTEL_SERVICE_NAME || TRACER_NAME;
  try {
    const tracing = sdk.startOtlpTracing({
      serviceName,
      serviceVersion: TRACER_VERSION,
      protocol,
      propagators: env.OTEL_PROPAGATORS,
      logger,
    });
    logger.info(
      {
        serviceName,
        endpoint: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || 'http://localhost:4318',
        protocol,
        propagators: tracing.propagators,
      },
      'OpenTelemetry tracing started (OTLP export)',
    );
    return () =>
      tracing.shutdown().catch((error: unknown) => {
        logger.warn({ err: error }, 'OpenTelemetry SDK shutdown failed');
      });
  } catch (error) {
    logger.warn({ err: error }, 'OpenTelemetry SDK did not start; running without tracing');
    return nothing;
  }
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && value.trim().toLowerCase() === 'true';
}
