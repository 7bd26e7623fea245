import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Arrival, Ledger } from './ledger.js';

/** How the sink answers one request. */
export type SinkAnswer =
  | { kind: 'ok'; delayMs?: number }
  | { kind: 'status'; status: number }
  /** Never answers: the dispatcher's REQUEST_TIMEOUT has to give up on it. */
  | { kind: 'hang' }
  /** Resets the TCP connection (RST) once the request is in. */
  | { kind: 'reset' };

export interface SinkRequest {
  arrival: Arrival;
  /** 1 for the first request carrying this record, 2 for its first retry or redelivery… */
  attempt: number;
}

/**
 * A real HTTP sink on loopback that books every request in the ledger: the arrival when the request
 * is in, the delivery when a 2xx answer has been written in full. `stop()` closes it like a crashed
 * sink (connections refused); `start()` brings it back on the same port.
 */
export async function startLedgerSink(ledger: Ledger, answer: (request: SinkRequest) => SinkAnswer = () => ({ kind: 'ok' })) {
  const attempts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let total = 0;
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      total++;
      const arrival = ledger.arrived(req.headers);
      const key = arrival.id ?? `foreign-${total}`;
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      const decision = answer({ arrival, attempt });
      switch (decision.kind) {
        case 'hang':
          return;
        case 'reset':
          req.socket.resetAndDestroy();
          return;
        case 'status':
          res.writeHead(decision.status, { 'content-type': 'text/plain' }).end('fault');
          return;
        case 'ok': {
          const reply = () => {
            timers.delete(timer);
            if (res.destroyed) return;
            res.on('finish', () => ledger.accept(arrival));
            res.writeHead(202, { 'content-type': 'text/plain' }).end();
          };
          const timer = setTimeout(reply, decision.delayMs ?? 0);
          timers.add(timer);
        }
      }
    });
  };
  const server = createServer({ keepAliveTimeout: 60_000 }, handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as { port: number }).port;
  let running = true;

  const stop = async () => {
    if (!running) return;
    running = false;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    attempts,
    /** Requests received so far. */
    get requests() {
      return total;
    },
    stop,
    async start() {
      if (running) return;
      await listen(port);
      running = true;
    },
    close: stop,
  };
}

export type LedgerSink = Awaited<ReturnType<typeof startLedgerSink>>;
