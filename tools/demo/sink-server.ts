/**
 * The demo inference sink: a stand-in for the article's GPU service (BERT intent detection behind
 * Knative with `containerConcurrency: 2`). Plain `node:http`.
 *
 *   GET  /predict?query=music      → 200 text/plain `PlayMusic`, header `x-intent-confidence`
 *   POST /predict[?query=...]      → same; without `query`, the body is the text (a JSON body with a
 *                                    string `query`, `text` or `template_name` field uses that field)
 *   GET  /healthz                  → 200 `ok`
 *   GET  /stats                    → JSON {@link DemoSinkStats}
 *
 * A queue-proxy-like limiter sits in front of /predict: at most `concurrency` requests are
 * processed at once (each sleeping `latencyMs` ± `latencyJitterMs`), at most `queueDepth` wait,
 * and any request beyond that gets `503 overloaded` at once. `concurrency: 0` means unlimited.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, type Logger } from '../../src/index.js';
import { classify } from './classifier.js';

export interface DemoSinkOptions {
  /** TCP port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Interface to bind. Default `127.0.0.1` (containers pass `0.0.0.0`). */
  host?: string;
  /** Simulated processing time per /predict request, in ms. Default 0. */
  latencyMs?: number;
  /** Uniform jitter applied to `latencyMs` (± this many ms, never below 0). Default 0. */
  latencyJitterMs?: number;
  /** Requests processed at once, like Knative `containerConcurrency`. Default 0 = unlimited. */
  concurrency?: number;
  /** Requests allowed to wait for a slot, like Knative's queue-proxy. Default 10 × concurrency. */
  queueDepth?: number;
  /** Default: `createLogger()`. The sink logs at debug only (one line per 1000 requests). */
  logger?: Logger;
}

export interface DemoSinkStats {
  /** /predict requests received (any outcome). */
  received: number;
  /** /predict requests answered 200. */
  answered: number;
  /** /predict requests answered 503 because the queue was full. */
  rejected: number;
  /** /predict requests being processed now. */
  inFlight: number;
  /** Highest `inFlight` seen. */
  maxInFlight: number;
  /** /predict requests waiting for a slot now. */
  queued: number;
  /** Answered requests per intent label. */
  byIntent: Record<string, number>;
  /** /predict requests per `Host` header value (`(none)` when absent). */
  byHost: Record<string, number>;
}

export interface DemoSink {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  stats(): DemoSinkStats;
  /** Stops listening, drops keep-alive and in-progress connections, and resolves. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const LOG_EVERY = 1000;

function checkCount(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`demo sink: ${name} must be a non-negative number, got ${String(value)}`);
  return v;
}

export async function startDemoSink(options: DemoSinkOptions = {}): Promise<DemoSink> {
  const port = checkCount('port', options.port, 8080);
  const host = options.host ?? '127.0.0.1';
  const latencyMs = checkCount('latencyMs', options.latencyMs, 0);
  const jitterMs = checkCount('latencyJitterMs', options.latencyJitterMs, 0);
  const concurrency = Math.floor(checkCount('concurrency', options.concurrency, 0));
  const queueDepth = Math.floor(checkCount('queueDepth', options.queueDepth, 10 * concurrency));
  const logger = (options.logger ?? createLogger()).child({ component: 'demo-sink' });

  const counters = { received: 0, answered: 0, rejected: 0, inFlight: 0, maxInFlight: 0 };
  const byIntent = new Map<string, number>();
  const byHost = new Map<string, number>();
  /** Waiters for a processing slot, FIFO. Each is called with `true` (go) or `false` (closing). */
  const waiting: Array<(go: boolean) => void> = [];
  let closing = false;

  function bump(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  function take(): void {
    counters.inFlight++;
    if (counters.inFlight > counters.maxInFlight) counters.maxInFlight = counters.inFlight;
  }

  /**
   * Resolves `true` once a processing slot is held (counted in `inFlight`), `false` if the client
   * went away or the sink closed while waiting.
   */
  function acquire(res: ServerResponse): Promise<boolean> | boolean {
    if (concurrency === 0 || counters.inFlight < concurrency) {
      take();
      return true;
    }
    return new Promise<boolean>((resolve) => {
      const waiter = (go: boolean): void => {
        res.off('close', onGone);
        resolve(go);
      };
      // A client that gives up while queued frees its queue place.
      const onGone = (): void => {
        const i = waiting.indexOf(waiter);
        if (i >= 0) waiting.splice(i, 1);
        resolve(false);
      };
      res.once('close', onGone);
      waiting.push(waiter);
    });
  }

  /** Hands the slot straight to the next waiter, if any, so nobody can overtake the queue. */
  function release(): void {
    const next = waiting.shift();
    if (next) next(true);
    else counters.inFlight--;
  }

  function delay(): number {
    if (jitterMs === 0) return latencyMs;
    return Math.max(0, latencyMs + (Math.random() * 2 - 1) * jitterMs);
  }

  async function predict(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    counters.received++;
    bump(byHost, req.headers.host ?? '(none)');
    if (counters.received % LOG_EVERY === 0) {
      logger.debug({ ...counters, queued: waiting.length }, 'demo sink progress');
    }
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    if (body === null) {
      send(res, 413, 'text/plain; charset=utf-8', 'request body too large');
      return;
    }

    const full = concurrency > 0 && counters.inFlight >= concurrency && waiting.length >= queueDepth;
    if (full || closing) {
      counters.rejected++;
      send(res, 503, 'text/plain; charset=utf-8', 'overloaded');
      return;
    }
    const got = await acquire(res);
    if (!got) return; // client gone or sink closing; the socket is already being torn down
    try {
      const ms = delay();
      if (ms > 0) await sleep(ms);
      const text = url.searchParams.get('query') ?? textFromBody(body, req.headers['content-type']);
      const { intent, confidence } = classify(text);
      counters.answered++;
      bump(byIntent, intent);
      send(res, 200, 'text/plain; charset=utf-8', intent, { 'x-intent-confidence': confidence.toFixed(4) });
    } finally {
      release();
    }
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sink.invalid');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    let work: Promise<void> | undefined;
    switch (route) {
      case 'GET /predict':
      case 'POST /predict':
        work = predict(req, res, url);
        break;
      case 'GET /healthz':
        send(res, 200, 'text/plain; charset=utf-8', 'ok');
        break;
      case 'GET /stats':
        send(res, 200, 'application/json; charset=utf-8', JSON.stringify(stats()));
        break;
      default:
        if (url.pathname === '/predict' || url.pathname === '/healthz' || url.pathname === '/stats') {
          send(res, 405, 'text/plain; charset=utf-8', 'method not allowed', {
            allow: url.pathname === '/predict' ? 'GET, POST' : 'GET',
          });
        } else {
          send(res, 404, 'text/plain; charset=utf-8', 'not found');
        }
        req.resume();
    }
    work?.catch((err: unknown) => {
      logger.debug({ err }, 'demo sink request failed');
      if (!res.headersSent && !res.destroyed) send(res, 500, 'text/plain; charset=utf-8', 'internal error');
    });
  });
  server.keepAliveTimeout = 65_000;

  function stats(): DemoSinkStats {
    return {
      ...counters,
      queued: waiting.length,
      byIntent: Object.fromEntries(byIntent),
      byHost: Object.fromEntries(byHost),
    };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' || host.includes(':') ? `[${address.address}]` : address.address;
  const baseUrl = `http://${urlHost}:${address.port}`;
  logger.debug({ url: baseUrl, latencyMs, jitterMs, concurrency, queueDepth }, 'demo sink listening');

  let closed: Promise<void> | undefined;
  return {
    url: baseUrl,
    port: address.port,
    stats,
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve, reject) => {
        closing = true;
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
        for (const waiter of waiting.splice(0)) waiter(false);
      });
      return closed;
    },
  };
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** The whole body, or `null` when it exceeds {@link MAX_BODY_BYTES}. */
async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      tooLarge = true; // keep draining so the connection stays usable
    else chunks.push(chunk);
  }
  return tooLarge ? null : Buffer.concat(chunks);
}

/** The text to classify from a POST body: a JSON string field `query`/`text`/`template_name`, else the raw body. */
function textFromBody(body: Buffer | undefined, contentType: string | undefined): string {
  if (!body || body.length === 0) return '';
  const raw = body.toString('utf8');
  const looksJson = (contentType ?? '').includes('json') || /^\s*[{]/.test(raw);
  if (looksJson) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        const record = parsed as Record<string, unknown>;
        for (const key of ['query', 'text', 'template_name']) {
          const value = record[key];
          if (typeof value === 'string') return value;
        }
      }
    } catch {
      // not JSON after all: classify the raw text
    }
  }
  return raw;
}
