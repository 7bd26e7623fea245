/**
 * The benchmark's sink, run as its own `node` process so that it never shares an event loop with the
 * dispatcher or the raw HTTP client being measured.
 *
 * - `POST <any path>`: reads the body, answers 200 with an empty body after the configured latency.
 *   When the request carries a send timestamp (`ce-kafkaheaderts` — the Kafka header `ts` as the
 *   dispatcher forwards it — or `x-bench-ts`, in ms since the epoch with a fraction), the receipt
 *   time minus that timestamp is recorded.
 * - `GET /stats`: `{ count, latencyCount, p50, p90, p99, p999, max, mean, maxConcurrency, meanHoldMs }`
 *   (ms; meanHoldMs: the configured latency as the timers actually held requests).
 * - `GET /reset`: clears counts and latencies.
 * - `GET /config?latencyMs=N`: sets the answer latency.
 * - `GET /config?costA=A&costB=B&slots=S`: a GPU-like sink instead (A + B > 0): a request whose body is
 *   a JSON array (or `{"instances": [...]}`) of n items takes A + B·n ms, other bodies one item's
 *   worth, and at most S requests are served at once (0: no limit); the others wait their turn in
 *   arrival order. `items` in /stats counts the items served.
 *
 * Prints one JSON line `{"port":N}` on stdout when listening. Stops on SIGTERM / SIGINT / stdin end.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';

const now = () => performance.timeOrigin + performance.now();

let latencyMs = Number(process.env.BENCH_SINK_LATENCY_MS ?? 0) || 0;
let cost = { aMs: 0, bMs: 0, slots: 0 };
let items = 0;
let busySlots = 0;
const waitingForSlot: Array<() => void> = [];
let count = 0;
let inFlight = 0;
let maxConcurrency = 0;
/** Time between a request's end and its answer (the configured latency as timers deliver it), summed. */
let holdSum = 0;
let holdCount = 0;
/** Latencies in ms; grows by doubling, capped so a long run cannot exhaust memory. */
let latencies = new Float64Array(1 << 16);
let latencyCount = 0;
const MAX_LATENCIES = 4_000_000;

function recordLatency(ms: number): void {
  if (latencyCount >= latencies.length) {
    if (latencies.length >= MAX_LATENCIES) return;
    const next = new Float64Array(Math.min(MAX_LATENCIES, latencies.length * 2));
    next.set(latencies);
    latencies = next;
  }
  latencies[latencyCount++] = ms;
}

function percentiles(): Record<string, number | null> {
  if (latencyCount === 0) return { p50: null, p90: null, p99: null, p999: null, max: null, mean: null };
  const sorted = latencies.slice(0, latencyCount).sort();
  const at = (q: number) => sorted[Math.min(latencyCount - 1, Math.max(0, Math.ceil(q * latencyCount) - 1))]!;
  let sum = 0;
  for (let i = 0; i < latencyCount; i++) sum += sorted[i]!;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: sorted[latencyCount - 1]!, mean: sum / latencyCount };
}

function sentAt(req: IncomingMessage): number | undefined {
  const ts = req.headers['ce-kafkaheaderts'] ?? req.headers['x-bench-ts'];
  if (typeof ts === 'string') {
    const n = Number(ts);
    if (Number.isFinite(n)) return n;
  }
  return undefined;
}

function control(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://sink');
  let body: unknown;
  if (url.pathname === '/stats') {
    body = {
      count,
      items,
      latencyCount,
      maxConcurrency,
      latencyMs,
      cost,
      meanHoldMs: holdCount > 0 ? holdSum / holdCount : null,
      ...percentiles(),
    };
  } else if (url.pathname === '/reset') {
    count = 0;
    items = 0;
    latencyCount = 0;
    holdSum = 0;
    holdCount = 0;
    maxConcurrency = inFlight;
    body = { ok: true };
  } else if (url.pathname === '/config') {
    const param = (name: string) => {
      const text = url.searchParams.get(name);
      const n = text === null ? NaN : Number(text);
      return Number.isFinite(n) && n >= 0 ? n : undefined;
    };
    latencyMs = param('latencyMs') ?? latencyMs;
    cost = { aMs: param('costA') ?? cost.aMs, bMs: param('costB') ?? cost.bMs, slots: Math.floor(param('slots') ?? cost.slots) };
    body = { latencyMs, cost };
  } else {
    res.writeHead(404).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** Items in a batch body: a JSON array's length, `instances`' length, otherwise one. */
function itemsOf(body: string): number {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (Array.isArray(parsed)) return parsed.length;
    const instances = (parsed as { instances?: unknown } | null)?.instances;
    return Array.isArray(instances) ? instances.length : 1;
  } catch {
    return 1;
  }
}

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    control(req, res);
    return;
  }
  const received = now();
  const sent = sentAt(req);
  if (sent !== undefined) recordLatency(received - sent);
  count++;
  inFlight++;
  if (inFlight > maxConcurrency) maxConcurrency = inFlight;
  const answer = () => {
    inFlight--;
    res.writeHead(200, { 'content-length': '0' });
    res.end();
  };
  if (cost.aMs + cost.bMs > 0) {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const n = itemsOf(Buffer.concat(chunks).toString('utf8'));
      const serve = () => {
        busySlots++;
        setTimeout(
          () => {
            busySlots--;
            items += n;
            answer();
            waitingForSlot.shift()?.();
          },
          cost.aMs + cost.bMs * n,
        );
      };
      if (cost.slots === 0 || busySlots < cost.slots) serve();
      else waitingForSlot.push(serve);
    });
    return;
  }
  req.on('data', () => {});
  req.on('end', () => {
    if (latencyMs > 0) {
      const ended = now();
      setTimeout(() => {
        holdSum += now() - ended;
        holdCount++;
        answer();
      }, latencyMs);
    } else answer();
  });
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.requestTimeout = 0;
server.maxRequestsPerSocket = 0;

server.listen(Number(process.env.BENCH_SINK_PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});

const stop = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
