import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthServerOptions {
  port: number;
  host?: string;
  /** A registry, or what stands for one (the pool's merge of its members' registries). */
  registry: Pick<Registry, 'metrics' | 'contentType'>;
  /** Why the dispatcher is not ready, or undefined when it is (the pool asks its members: a promise). */
  notReadyReason: () => string | undefined | Promise<string | undefined>;
}

/** `/metrics` (Prometheus), `/healthz` (the event loop answers), `/readyz` (joined, not draining). */
export async function startHealthServer(options: HealthServerOptions): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': options.registry.contentType });
          res.end(text);
        },
        (error: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(error.message);
        },
      );
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (path === '/readyz') {
      const answer = (reason: string | undefined) => {
        res.writeHead(reason ? 503 : 200, { 'content-type': 'text/plain' });
        res.end(reason ?? 'ready');
      };
      const reason = options.notReadyReason();
      if (reason instanceof Promise) reason.then(answer, (error: Error) => answer(error.message));
      else answer(reason);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
