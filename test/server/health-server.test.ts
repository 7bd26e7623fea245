import { Registry, Counter } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startHealthServer } from '../../src/server/health-server.js';

describe('health server', () => {
  const servers: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  async function start(notReadyReason: () => string | undefined | Promise<string | undefined>) {
    const registry = new Registry();
    new Counter({ name: 'kd_test_total', help: 'a counter', registers: [registry] }).inc(3);
    const server = await startHealthServer({ port: 0, host: '127.0.0.1', registry, notReadyReason });
    servers.push(server);
    return { ...server, url: (path: string) => `http://127.0.0.1:${server.port}${path}`, registry };
  }

  it('answers /healthz 200 whatever readiness says', async () => {
    const server = await start(() => 'draining');
    const res = await fetch(server.url('/healthz'));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  });

  it('answers /readyz 200 when ready and 503 with the reason when not, as readiness changes', async () => {
    let reason: string | undefined = 'not yet joined the consumer group';
    const server = await start(() => reason);
    const before = await fetch(server.url('/readyz'));
    expect(before.status).toBe(503);
    expect(await before.text()).toBe('not yet joined the consumer group');
    reason = undefined;
    const after = await fetch(server.url('/readyz?verbose=1'));
    expect(after.status).toBe(200);
    expect(await after.text()).toBe('ready');
  });

  it('waits for a readiness that is a promise (the pool asks its members) and answers by it', async () => {
    let reason: string | undefined = 'member 2: starting';
    const server = await start(() => Promise.resolve(reason));
    const before = await fetch(server.url('/readyz'));
    expect(before.status).toBe(503);
    expect(await before.text()).toBe('member 2: starting');
    reason = undefined;
    expect((await fetch(server.url('/readyz'))).status).toBe(200);
  });

  it('serves the registry on /metrics in the Prometheus text format', async () => {
    const server = await start(() => undefined);
    const res = await fetch(server.url('/metrics'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(server.registry.contentType);
    expect(await res.text()).toMatch(/^# HELP kd_test_total a counter\n# TYPE kd_test_total counter\nkd_test_total 3$/m);
  });

  it('answers 404 for any other path', async () => {
    const server = await start(() => undefined);
    expect((await fetch(server.url('/'))).status).toBe(404);
    expect((await fetch(server.url('/metricsx'))).status).toBe(404);
  });

  it('frees its port on close, even with a keep-alive connection open', async () => {
    const server = await start(() => undefined);
    await fetch(server.url('/healthz'));
    await servers.pop()!.close();
    await expect(fetch(server.url('/healthz'))).rejects.toThrow();
    const again = await startHealthServer({
      port: server.port,
      host: '127.0.0.1',
      registry: new Registry(),
      notReadyReason: () => undefined,
    });
    servers.push(again);
    expect(again.port).toBe(server.port);
  });
});
