import { Pool, type Dispatcher } from 'undici';
import { SinkTransportError } from '../errors.js';
import { ResponseCollector } from './response-collector.js';
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
 * POSTs to the sink with undici's pooled keep-alive connections, through `dispatch` and a handler
 * (ResponseCollector) rather than `request`. Unlike `fetch`, undici lets us set the Host header, which
 * is how a Knative gateway routes. Retries are not done here: the record dispatcher owns them.
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
    let timedOut = false;
    let collector: ResponseCollector | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      collector?.abort(new Error('attempt timeout'));
    }, this.options.timeoutMs);
    try {
      return await new Promise<SinkResponse>((resolve, reject) => {
        collector = new ResponseCollector(this.options.maxResponseBytes ?? 64 * 1024, resolve, reject);
        dispatcher.dispatch(
          {
            origin: url.origin,
            path: target ? url.pathname + url.search : this.sinkPath,
            method: 'POST',
            headers,
            body: request.body ?? null,
            // The attempt timeout above covers the whole exchange; undici's own timers only stack.
            headersTimeout: 0,
            bodyTimeout: 0,
          },
          collector,
        );
      });
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

function redactOrigin(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function pickDefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
