import { writeFileSync, renameSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { createTopic, produce } from '../helpers/kafka.js';
import { makeTestPki } from '../helpers/certs.js';
import { startRecordingSink } from '../helpers/recording-sink.js';
import { startTestDispatcher } from '../helpers/dispatcher.js';
import { useTestResources } from '../helpers/resources.js';
import { waitFor, sleep } from '../helpers/wait-for.js';

const res = useTestResources();

describe('sink security', () => {
  const pki = makeTestPki();

  async function httpsSink(requireClientCert: boolean) {
    const seen: Array<{ body: string; clientCN: string | undefined }> = [];
    const server = createServer(
      { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: requireClientCert, rejectUnauthorized: requireClientCert },
      (req, res) => {
        let body = '';
        req.on('data', (d: Buffer) => (body += d.toString()));
        req.on('end', () => {
          const peer = (req.socket as TLSSocket).getPeerCertificate();
          seen.push({ body, clientCN: peer?.subject?.CN as string | undefined });
          res.end('ok');
        });
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    res.defer(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    return { url: `https://127.0.0.1:${(server.address() as { port: number }).port}/`, seen };
  }

  it('trusts an https sink signed by the CA it is given (K_CA_CERTS), and presents a client certificate', async () => {
    const sink = await httpsSink(true);
    const { topic, group } = await createTopic(1);
    await produce(topic, [{ value: 'over-tls' }]);
    res.dispatcher = await startTestDispatcher({
      topics: [topic],
      groupId: group,
      sinkUri: sink.url,
      sinkCaCerts: pki.ca,
      sinkClientCert: pki.clientCert,
      sinkClientKey: pki.clientKey,
    });
    await waitFor(() => sink.seen.length === 1, 'delivery over TLS');
    expect(sink.seen[0]).toEqual({ body: 'over-tls', clientCN: 'client' });
  });

  it('refuses an https sink whose certificate it cannot verify, and retries instead of delivering', async () => {
    const sink = await httpsSink(false);
    const { topic, group } = await createTopic(1);
    await produce(topic, [{ value: 'untrusted' }]);
    res.dispatcher = await startTestDispatcher({ topics: [topic], groupId: group, sinkUri: sink.url, retry: 1, backoffDelayMs: 10 });
    await waitFor(() => res.dispatcher!.metrics.totals.skipped === 1, 'the give-up');
    expect(sink.seen).toHaveLength(0);
    expect(res.dispatcher!.logs().find((l) => l.msg.startsWith('record given up'))).toMatchObject({ code: 'KD_SINK_TRANSPORT' });
  });

  it('sends the bearer token from a file and picks up a rotated token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-token-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'first-token\n');
    const sink = await startRecordingSink();
    res.defer(() => sink.close());
    const { topic, group } = await createTopic(1);
    await produce(topic, [{ value: 'one' }]);
    res.dispatcher = await startTestDispatcher({ topics: [topic], groupId: group, sinkUri: sink.url, sinkTokenFile: tokenFile });
    await waitFor(() => sink.requests.length === 1, 'first delivery');
    // Rotated the way kubelet does it: a new file moved into place.
    writeFileSync(join(dir, 'token.new'), 'second-token');
    renameSync(join(dir, 'token.new'), tokenFile);
    await sleep(1100);
    await produce(topic, [{ value: 'two' }]);
    await waitFor(() => sink.requests.length === 2, 'second delivery');
    expect(sink.requests.map((r) => r.headers.authorization)).toEqual(['Bearer first-token', 'Bearer second-token']);
  });
});
