import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTestPki } from '../helpers/certs.js';
import { useOwnBroker } from '../helpers/own-broker.js';
import { startTestDispatcher } from '../helpers/dispatcher.js';
import { waitFor } from '../helpers/wait-for.js';

// A broker of its own with an SSL listener that requires client certificates.
const PORT = Number(process.env.KD_TEST_TLS_BROKER_PORT ?? 29392);
const TLS_PORT = PORT + 2;

describe('TLS to the brokers (CA and client certificate)', () => {
  const pki = makeTestPki();
  const keystore = join(pki.dir, 'broker-keystore.pem');
  writeFileSync(keystore, pki.serverKey + pki.serverCert);
  const own = useOwnBroker('tls', {
    port: PORT,
    tls: { port: TLS_PORT, keystoreFile: keystore, truststoreFile: join(pki.dir, 'ca.pem'), clientAuth: true },
  });
  const { topicWith } = own;

  it('consumes over TLS, trusting the given CA and presenting its client certificate', async () => {
    const topic = await topicWith('over-tls');
    const dispatcher = await startTestDispatcher({
      brokers: [`127.0.0.1:${TLS_PORT}`],
      topics: [topic],
      groupId: `${topic}-group`,
      sinkUri: own.sink.url,
      tlsEnabled: true,
      tlsCaCert: pki.ca,
      tlsCert: pki.clientCert,
      tlsKey: pki.clientKey,
    });
    try {
      await waitFor(() => own.sink.requests.some((r) => r.body === 'over-tls'), 'delivery of a record read over TLS');
    } finally {
      await dispatcher.stop(5000);
    }
  });

  it('fails to start without a client certificate the broker requires', async () => {
    const topic = await topicWith('never');
    await expect(
      startTestDispatcher({
        brokers: [`127.0.0.1:${TLS_PORT}`],
        topics: [topic],
        groupId: `${topic}-group`,
        sinkUri: own.sink.url,
        tlsEnabled: true,
        tlsCaCert: pki.ca,
      }),
    ).rejects.toThrow();
    expect(own.sink.requests.some((r) => r.body === 'never')).toBe(false);
  });
});
