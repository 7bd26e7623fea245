import type { EventEmitter } from 'node:events';
import { Pool, type Dispatcher } from 'undici';
import { SinkTransportError } from '../errors.js';
import type { OutboundRequest, Sender, SinkResponse } from './sender.js';

export interface HttpSenderOptions {
  sinkUri: string;
  /** Host header instead of the URI's authority: the request still goes to the URI's address. */
  hostHeader?: string | undefined;
  timeoutMs: number;
  /** Keep-alive connections per origin. */
  connections: number;
  /** Response bytes kept (for dead letters and replies); the rest is read and dropped. */
  maxResponseBytes?: number;
  /** CA, client certificate and key for an https sink (PEM). */
  tls?: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined } | undefined;
  /** A bearer token for the sink (not the dead letter), looked up per request. */
  bearerToken?: (() => string | undefined) | undefined;
}

/**
 * POSTs to the sink with undici's pooled keep-alive connections. undici's `request` (unlike
 * `fetch`) lets us set the Host header, which is how a Knative gateway routes. Retries are not done
 * here: the record dispatcher owns them.
 */
export class HttpSender implements Sender {
  private readonly pools = new Map<string, Dispatcher>();
  private readonly sink: URL;
  private readonly sinkPath: string;

  constructor(private readonly options: HttpSenderOptions) {
    this.sink = new URL(options.sinkUri);
    this.sinkPath = this.sink.pathname + this.sink.search;
  }

  async send(request: OutboundRequest, target?: string): Promise<SinkResponse> {
    const url = target ? new URL(target) : this.sink;
    const dispatcher = this.poolFor(url.origin);
    let headers = request.headers;
    if (!target) {
      const token = this.options.bearerToken?.();
      if (this.options.hostHeader || token) {
        headers = { ...headers };
        if (this.options.hostHeader) headers.host = this.options.hostHeader;
        if (token) headers.authorization = `Bearer ${token}`;
      }
    }
    const deadline = new AttemptDeadline();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.abort();
    }, this.options.timeoutMs);
    try {
      const response = await dispatcher.request({
        origin: url.origin,
        path: target ? url.pathname + url.search : this.sinkPath,
        method: 'POST',
        headers,
        body: request.body ?? undefined,
        signal: deadline as unknown as EventEmitter,
        // The attempt timeout above covers the whole exchange; undici's own timers only stack.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      const limit = this.options.maxResponseBytes ?? 64 * 1024;
      // A small body of known length is read in one go; anything else chunk by chunk, up to the limit.
      const length = Number(response.headers['content-length']);
      const body =
        length >= 0 && length <= limit ? Buffer.from(await response.body.arrayBuffer()) : await readLimited(response.body, limit);
      return { status: response.statusCode, headers: response.headers, body };
    } catch (error) {
      if (timedOut) {
        throw new SinkTransportError(`no answer from ${redactOrigin(url)} within ${this.options.timeoutMs} ms`, {
          timedOut: true,
          cause: error,
        });
      }
      const code = (error as { code?: string }).code;
      throw new SinkTransportError(`request to ${redactOrigin(url)} failed: ${code ?? ''} ${(error as Error).message}`.trim(), {
        timedOut: false,
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()));
    this.pools.clear();
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.destroy()));
    this.pools.clear();
  }

  private poolFor(origin: string): Dispatcher {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.options.connections,
        keepAliveTimeout: 30_000,
        ...(this.options.tls && origin.startsWith('https:') ? { connect: pickDefined(this.options.tls) } : {}),
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }
}

async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    if (size < limit) {
      chunks.push(buffer.subarray(0, limit - size));
    }
    size += buffer.length;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

function redactOrigin(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function pickDefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The cheapest abort signal undici accepts (it takes an EventEmitter-like object): one listener, no
 * AbortController or EventTarget machinery, which cost several microseconds per request.
 */
class AttemptDeadline {
  aborted = false;
  private listener: (() => void) | undefined;

  on(_event: 'abort', listener: () => void): this {
    this.listener = listener;
    return this;
  }

  once(event: 'abort', listener: () => void): this {
    return this.on(event, listener);
  }

  removeListener(_event: 'abort', listener: () => void): this {
    if (this.listener === listener) this.listener = undefined;
    return this;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listener = this.listener;
    this.listener = undefined;
    listener?.();
  }
}
