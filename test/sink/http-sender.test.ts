import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SinkTransportError } from '../../src/errors.js';
import { HttpSender, type HttpSenderOptions } from '../../src/sink/http-sender.js';
import { startRecordingSink, type RecordingSink, type Reply } from '../helpers/recording-sink.js';

describe('HTTP sender (undici, real loopback server)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(reply?: (r: { url: string }) => Reply, options: Partial<HttpSenderOptions> = {}, path = '/predict?model=a') {
    const sink: RecordingSink = await startRecordingSink(reply);
    cleanups.push(() => sink.close());
    const sender = new HttpSender({ sinkUri: `${sink.url}${path}`, timeoutMs: 2000, connections: 4, ...options });
    cleanups.push(() => sender.close());
    return { sink, sender };
  }

  it('POSTs the headers and body to the sink path and returns status, headers and body', async () => {
    const { sink, sender } = await setup(() => ({ status: 201, headers: { 'x-answer': '42' }, body: '{"label":"music"}' }));
    const res = await sender.send({
      headers: { 'ce-id': 'partition:0/offset:7', 'content-type': 'application/json' },
      body: Buffer.from('{"q":1}'),
    });
    expect(res.status).toBe(201);
    expect(res.headers['x-answer']).toBe('42');
    expect(res.body.toString()).toBe('{"label":"music"}');
    const [request] = sink.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/predict?model=a', body: '{"q":1}' });
    expect(request!.headers['ce-id']).toBe('partition:0/offset:7');
  });

  it('sends the Host header override to the URI address (Knative gateway routing)', async () => {
    const { sink, sender } = await setup(undefined, { hostHeader: 'inference.default.example.com' });
    await sender.send({ headers: {}, body: Buffer.from('x') });
    expect(sink.requests[0]!.headers.host).toBe('inference.default.example.com');
  });

  it('sends the bearer token to the sink and never to a dead-letter target', async () => {
    const dead = await startRecordingSink();
    cleanups.push(() => dead.close());
    const { sink, sender } = await setup(undefined, { bearerToken: () => 'tok-1', hostHeader: 'svc.example' });
    await sender.send({ headers: {}, body: Buffer.from('a') });
    await sender.send({ headers: {}, body: Buffer.from('b') }, `${dead.url}/dlq`);
    expect(sink.requests[0]!.headers.authorization).toBe('Bearer tok-1');
    expect(dead.requests[0]!.headers.authorization).toBeUndefined();
    expect(dead.requests[0]!.headers.host).toBe(new URL(dead.url).host);
    expect(dead.requests[0]!.url).toBe('/dlq');
  });

  it('keeps at most maxResponseBytes of a large body and the connection stays usable', async () => {
    const big = 'x'.repeat(200_000);
    const { sender } = await setup((r) => (r.url.includes('small') ? { body: 'ok' } : { body: big }), { maxResponseBytes: 1000 }, '/');
    const first = await sender.send({ headers: {}, body: null });
    expect(first.body.length).toBe(1000);
    const second = await sender.send({ headers: {}, body: null }, undefined);
    expect(second.status).toBe(200);
  });

  it('times out a sink that never answers: KD_SINK_TIMEOUT, retriable, within about the timeout', async () => {
    const { sender } = await setup(() => ({ delayMs: 5000 }), { timeoutMs: 300 });
    const started = Date.now();
    const error = await sender.send({ headers: {}, body: Buffer.from('x') }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(SinkTransportError);
    expect(error).toMatchObject({ code: 'KD_SINK_TIMEOUT', timedOut: true, retriable: true });
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(3000);
  });

  it('reports a refused connection as KD_SINK_TRANSPORT without credentials or query in the message', async () => {
    const port = await freePort();
    const sender = new HttpSender({ sinkUri: `http://user:secret@127.0.0.1:${port}/p?token=abc`, timeoutMs: 2000, connections: 1 });
    cleanups.push(() => sender.close());
    const error = (await sender.send({ headers: {}, body: null }).catch((e: unknown) => e)) as SinkTransportError;
    expect(error).toMatchObject({ code: 'KD_SINK_TRANSPORT', timedOut: false, retriable: true });
    expect(error.message).toContain(`127.0.0.1:${port}/p`);
    expect(error.message).not.toContain('secret');
    expect(error.message).not.toContain('token=abc');
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
