import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';

export interface RecordedRequest {
  n: number;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  receivedAt: number;
  /** When the answer was sent; undefined while pending or when the client went away. */
  answeredAt?: number;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  delayMs?: number;
}

/**
 * A real HTTP server on loopback port 0 that records every request; `reply` decides the answer
 * (default 200 at once). `n` counts from 1 in arrival order.
 */
export async function startRecordingSink(reply: (request: RecordedRequest) => Reply | Promise<Reply> = () => ({})) {
  const requests: RecordedRequest[] = [];
  /** Requests whose client went away before the answer (e.g. the dispatcher's timeout). */
  const aborted: RecordedRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const recorded: RecordedRequest = {
      n: requests.length + 1,
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      receivedAt: Date.now(),
    };
    requests.push(recorded);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let gone = false;
    res.on('close', () => {
      if (!res.writableFinished) gone = true;
    });
    try {
      const answer = await reply(recorded);
      if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
      if (gone) {
        aborted.push(recorded);
        return;
      }
      recorded.answeredAt = Date.now();
      res.writeHead(answer.status ?? 200, { 'content-type': 'text/plain', ...answer.headers });
      res.end(answer.body ?? 'ok');
    } finally {
      inFlight--;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    aborted,
    get maxInFlight() {
      return maxInFlight;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export type RecordingSink = Awaited<ReturnType<typeof startRecordingSink>>;

/** The most requests ever open at once among `requests`, from their receive and answer times. */
export function maxOverlap(requests: RecordedRequest[]): number {
  const events: Array<[number, number]> = [];
  for (const r of requests) {
    events.push([r.receivedAt, 1]);
    events.push([r.answeredAt ?? Number.POSITIVE_INFINITY, -1]);
  }
  // Ends before starts at the same millisecond: a request answered as the next one arrives is not concurrency.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let max = 0;
  for (const [, delta] of events) {
    open += delta;
    max = Math.max(max, open);
  }
  return max;
}
