/**
 * The OpenTelemetry SDK with OTLP export over HTTP, set up as the global tracer provider, context
 * manager and propagator.
 *
 * Only `startTracingFromEnv` (tracing.ts) imports this module, and only when the environment asks
 * for OTLP export: its packages (optionalDependencies) are then loaded, otherwise never, so a
 * dispatcher without tracing starts as fast as before and `npm ci --omit=optional` leaves them out.
 *
 * The SDK reads the standard variables itself: `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`, `_HEADERS`,
 * `_TIMEOUT`, `_COMPRESSION`, `OTEL_TRACES_SAMPLER[_ARG]`, `OTEL_BSP_*`, `OTEL_SPAN_*_LIMIT`,
 * `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_SERVICE_NAME`. This module chooses the exporter from the
 * protocol and the propagators from `OTEL_PROPAGATORS`.
 */
import { context, diag, DiagLogLevel, propagation, trace, type TextMapPropagator } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, detectResources, envDetector, hostDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** The OTLP transports in the package (gRPC is not: its client would add ~10 MB for one protocol). */
export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface OtlpLogger {
  warn(obj: object, msg?: string): void;
}

export interface OtlpTracingOptions {
  /** `service.name` unless `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES` say otherwise. */
  serviceName: string;
  serviceVersion?: string | undefined;
  protocol: OtlpProtocol;
  /** `OTEL_PROPAGATORS` as given (default `tracecontext,baggage`). */
  propagators?: string | undefined;
  /** SDK diagnostics (export failures) at warn level and above. */
  logger: OtlpLogger;
}

export interface OtlpTracing {
  /** Names of the propagators in use. */
  propagators: string[];
  /** Flushes the spans still buffered and stops exporting. */
  shutdown(): Promise<void>;
}

const PROPAGATORS: Record<string, () => TextMapPropagator> = {
  tracecontext: () => new W3CTraceContextPropagator(),
  baggage: () => new W3CBaggagePropagator(),
};

export function startOtlpTracing(options: OtlpTracingOptions): OtlpTracing {
  const { logger } = options;
  diag.setLogger(
    {
      error: (message, ...args) => logger.warn({ args }, `OpenTelemetry: ${message}`),
      warn: (message, ...args) => logger.warn({ args }, `OpenTelemetry: ${message}`),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );

  const resource = defaultResource()
    .merge(
      resourceFromAttributes({
        'service.name': options.serviceName,
        ...(options.serviceVersion ? { 'service.version': options.serviceVersion } : {}),
      }),
    )
    .merge(detectResources({ detectors: [envDetector, hostDetector] }));
  const exporter = options.protocol === 'http/json' ? new OtlpJsonExporter() : new OtlpProtoExporter();
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });

  const names = (options.propagators ?? 'tracecontext,baggage')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const unknown = names.filter((n) => n !== 'none' && !(n in PROPAGATORS));
  if (unknown.length > 0) {
    logger.warn({ unknown, known: Object.keys(PROPAGATORS) }, `OTEL_PROPAGATORS: ${unknown.join(', ')} not available; ignored`);
  }
  const used = names.includes('none') ? [] : [...new Set(names.filter((n) => n in PROPAGATORS))];

  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  if (used.length > 0) propagation.setGlobalPropagator(new CompositePropagator({ propagators: used.map((n) => PROPAGATORS[n]!()) }));

  let stopped: Promise<void> | undefined;
  return {
    propagators: used,
    shutdown: () => (stopped ??= provider.shutdown()),
  };
}
