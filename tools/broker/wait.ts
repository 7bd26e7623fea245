import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { EnvironmentError } from '../../src/index.js';

export interface WaitForKafkaOptions {
  /**
   * Also wait until a group coordinator answers (this makes a fresh broker create `__consumer_offsets`),
   * so that consumer groups work as soon as this resolves. Default true.
   */
  groupCoordinator?: boolean;
  /** Pause between attempts. Default 500 ms. */
  intervalMs?: number;
  /** Gives up early (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** `host:port,host:port` → `['host:port', ...]`, blanks dropped. */
export function parseBrokerList(brokers: string): string[] {
  return brokers
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), Math.max(1, ms));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Resolves once the Kafka cluster at `brokers` answers a metadata request (kafkajs admin
 * `describeCluster()`) and, unless disabled, a group coordinator lookup. Retries until `timeoutMs`
 * has passed, then rejects with an `EnvironmentError` (`KD_KAFKA_UNAVAILABLE`) naming the last
 * failure. kafkajs' own logging is silenced: the expected "not available yet" errors are noise here.
 */
export async function waitForKafka(brokers: string, timeoutMs: number, options: WaitForKafkaOptions = {}): Promise<void> {
  const list = parseBrokerList(brokers);
  if (list.length === 0) throw new EnvironmentError('KD_KAFKA_UNAVAILABLE', 'no Kafka brokers given');
  const deadline = Date.now() + timeoutMs;
  const intervalMs = options.intervalMs ?? 500;
  const groupCoordinator = options.groupCoordinator ?? true;
  const kafka = new Kafka({
    clientId: 'kafka-dispatch-wait',
    brokers: list,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  });
  let lastError: unknown = new Error('no attempt was made');
  let attempts = 0;
  while (attempts === 0 || Date.now() < deadline) {
    options.signal?.throwIfAborted();
    attempts += 1;
    const admin = kafka.admin({ retry: { retries: 0 } });
    try {
      const remaining = () => Math.max(1, deadline - Date.now());
      await withTimeout(admin.connect(), remaining(), 'connecting');
      const cluster = await withTimeout(admin.describeCluster(), remaining(), 'describeCluster');
      if (cluster.brokers.length === 0) throw new Error('metadata lists no brokers yet');
      if (groupCoordinator) {
        // Looks up the coordinator of a group that never exists; answers once __consumer_offsets is up.
        await withTimeout(admin.describeGroups(['kafka-dispatch-readiness-probe']), remaining(), 'group coordinator lookup');
      }
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await withTimeout(admin.disconnect(), 2000, 'disconnecting').catch(() => undefined);
    }
    const pause = Math.min(intervalMs, deadline - Date.now());
    if (pause > 0) await sleep(pause, undefined, options.signal ? { signal: options.signal } : undefined);
  }
  throw new EnvironmentError(
    'KD_KAFKA_UNAVAILABLE',
    `Kafka at ${list.join(',')} did not answer within ${Math.round(timeoutMs / 1000)} s (${attempts} attempts): ${describe(lastError)}`,
  );
}

/** What listens on a TCP port. */
export type PortProbe = 'closed' | 'kafka' | 'other';

/**
 * Finds out, without kafkajs, whether `host:port` is closed, a Kafka broker (it answers an
 * ApiVersions request with our correlation id), or something else (it accepts the connection but
 * does not answer like Kafka within `timeoutMs`).
 */
export function probeKafkaPort(host: string, port: number, timeoutMs = 3000): Promise<PortProbe> {
  return new Promise((resolve) => {
    const correlationId = 0x4b44_0001;
    const clientId = Buffer.from('kafka-dispatch-probe', 'utf8');
    // Request header v1 (api_key, api_version, correlation_id, client_id) + empty ApiVersions v0 body.
    const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
    body.writeInt16BE(18, 0); // ApiVersions
    body.writeInt16BE(0, 2);
    body.writeInt32BE(correlationId, 4);
    body.writeInt16BE(clientId.length, 8);
    clientId.copy(body, 10);
    const frame = Buffer.alloc(4 + body.length);
    frame.writeInt32BE(body.length, 0);
    body.copy(frame, 4);

    let settled = false;
    let connected = false;
    let received = Buffer.alloc(0);
    const socket = connect({ host, port });
    const finish = (result: PortProbe) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(connected ? 'other' : 'closed'), timeoutMs);
    socket.on('connect', () => {
      connected = true;
      socket.write(frame);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 8) {
        const size = received.readInt32BE(0);
        const id = received.readInt32BE(4);
        finish(size >= 4 && size < 1 << 24 && id === correlationId ? 'kafka' : 'other');
      }
    });
    socket.on('error', () => finish(connected ? 'other' : 'closed'));
    socket.on('close', () => finish(connected ? 'other' : 'closed'));
  });
}

/** True when something accepts TCP connections on `host:port`. */
export function isPortOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => done(false), timeoutMs);
    function done(open: boolean) {
      clearTimeout(timer);
      socket.destroy();
      resolve(open);
    }
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
