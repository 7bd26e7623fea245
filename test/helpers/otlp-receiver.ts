import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One OTLP/HTTP export request as the collector got it. */
export interface OtlpRequest {
  path: string;
  contentType: string | undefined;
  body: Buffer;
}

/** An OTLP/JSON span, as far as the tests read it. */
export interface OtlpJsonSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, string | number | boolean>;
  links: Array<{ traceId: string; spanId: string }>;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`: an OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  requests: OtlpRequest[];
  /** Spans and resource attributes of every OTLP/JSON request so far. */
  jsonSpans(): { resource: Record<string, string | number | boolean>; spans: OtlpJsonSpan[] };
  close(): Promise<void>;
}

interface JsonValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface JsonKeyValue {
  key: string;
  value: JsonValue;
}

const value = (v: JsonValue): string | number | boolean =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue ?? ''));
const attributes = (list: JsonKeyValue[] | undefined) => Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));

/** A stand-in for an OpenTelemetry Collector's OTLP/HTTP receiver on loopback: answers 200 and keeps the requests. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const requests: OtlpRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: Buffer.concat(chunks) });
      const json = (req.headers['content-type'] ?? '').includes('json');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    jsonSpans() {
      let resource: Record<string, string | number | boolean> = {};
      const spans: OtlpJsonSpan[] = [];
      for (const request of requests) {
        if (!(request.contentType ?? '').includes('json')) continue;
        const payload = JSON.parse(request.body.toString('utf8')) as {
          resourceSpans: Array<{
            resource: { attributes: JsonKeyValue[] };
            scopeSpans: Array<{
              spans: Array<
                Omit<OtlpJsonSpan, 'attributes' | 'links'> & {
                  attributes?: JsonKeyValue[];
                  links?: Array<{ traceId: string; spanId: string }>;
                }
              >;
            }>;
          }>;
        };
        for (const rs of payload.resourceSpans) {
          resource = attributes(rs.resource.attributes);
          for (const ss of rs.scopeSpans) {
            for (const span of ss.spans) {
              spans.push({
                ...span,
                attributes: attributes(span.attributes),
                links: (span.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
              });
            }
          }
        }
      }
      return { resource, spans };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
