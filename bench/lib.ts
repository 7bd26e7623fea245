/**
 * Building blocks of `npm run bench`: the sink child process, topic prefill, the raw consumer and
 * raw HTTP limits, the dispatcher in-process and as a child process, RSS sampling.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin, type Message, type Producer } from 'kafkajs';
import { Pool } from 'undici';
import { createLogger, DEFAULTS, encodeCloudEvent, startDispatcher, type Ordering, type Settings } from '../src/index.js';

/** What the Dockerfile sets as NODE_OPTIONS; a test keeps the two equal. */
export const IMAGE_NODE_OPTIONS = '--max-old-space-size=192 --max-semi-space-size=16';

export const nowMs = (): number => performance.timeOrigin + performance.now();
const cpuMicros = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

export function kafkaClient(brokers: string[], clientId = 'kd-bench'): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 10_000 } });
}

// ---------------------------------------------------------------------------------------------
// The sink, in its own process.

export interface SinkStats {
  count: number;
  /** Items the GPU-like sink served (setCost). */
  items: number;
  latencyCount: number;
  maxConcurrency: number;
  latencyMs: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
  mean: number | null;
  meanHoldMs: number | null;
}

export class SinkProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/sink`;
  }
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** `script`: a sibling of this module that prints `{"port":N}` and serves /stats and /reset. */
  static async start(script = 'sink-process.js', env: Record<string, string> = {}): Promise<SinkProcess> {
    const path = fileURLToPath(new URL(`./${script}`, import.meta.url));
    const child = spawn(process.execPath, [path], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    const port = await new Promise<number>((resolve, reject) => {
      let text = '';
      const onData = (chunk: Buffer) => {
        text += chunk.toString();
        const line = text.split('\n')[0];
        if (text.includes('\n') && line) {
          child.stdout!.off('data', onData);
          try {
            resolve((JSON.parse(line) as { port: number }).port);
          } catch (error) {
            reject(error as Error);
          }
        }
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`the sink process exited with code ${code}`)));
      child.once('error', reject);
    });
    child.stdout!.resume();
    return new SinkProcess(child, port);
  }

  private async get<T>(path: string): Promise<T> {
    const response = await fetch(`http://127.0.0.1:${this.port}${path}`);
    return (await response.json()) as T;
  }
  stats(): Promise<SinkStats> {
    return this.get<SinkStats>('/stats');
  }
  async reset(): Promise<void> {
    await this.get('/reset');
  }
  async setLatency(ms: number): Promise<void> {
    await this.get(`/config?latencyMs=${ms}`);
  }
  /** A GPU-like sink: a request of n items takes aMs + bMs·n, at most `slots` at once (0: any); aMs = bMs = 0 turns it off. */
  async setCost(cost: { aMs: number; bMs: number; slots: number }): Promise<void> {
    await this.get(`/config?costA=${cost.aMs}&costB=${cost.bMs}&slots=${cost.slots}`);
  }
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------------------------------------
// Topics.

/**
 * Creates a topic and waits until every partition has a leader. kafkajs's own `waitForLeaders` gives
 * up when the metadata still says "unknown topic" (a broker busy deleting the previous topic).
 */
export async function createTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: false });
  const deadline = nowMs() + 30_000;
  for (;;) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const found = topics[0]?.partitions ?? [];
      if (found.length === partitions && found.every((p) => p.leader >= 0)) return;
    } catch (error) {
      if (nowMs() > deadline) throw error;
    }
    if (nowMs() > deadline) throw new Error(`topic ${topic}: partitions without a leader after 30 s`);
    await sleep(100);
  }
}

export async function deleteTopics(admin: Admin, topics: string[], groups: string[] = []): Promise<void> {
  if (groups.length > 0) await admin.deleteGroups(groups).catch(() => {});
  if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 }).catch(() => {});
}

export interface PrefillOptions {
  topic: string;
  records: number;
  size: number;
  partitions: number;
  /** Distinct keys `k0…k(keys-1)`, record i has key i % keys; the partition follows the key (key % partitions). */
  keys: number;
  /** Values that are JSON (`{"x":"xxx…"}`, still `size` bytes), as a batch body needs; default raw bytes. */
  json?: boolean;
}

/** Produces `records` records of `size` bytes in big uncompressed batches (acks 1). Returns seconds taken. */
export async function prefill(producer: Producer, options: PrefillOptions): Promise<number> {
  const started = nowMs();
  const value = options.json ? Buffer.from(`{"x":"${'x'.repeat(Math.max(0, options.size - 8))}"}`) : Buffer.alloc(options.size, 'x');
  const keyBuffers = Array.from({ length: options.keys }, (_, k) => Buffer.from(`k${k}`));
  // At most ~768 KB per partition per request (the broker refuses batches over message.max.bytes,
  // 1 MB by default), at most ~4 MB per request, at most 4 requests in flight.
  const perRecord = options.size + 80;
  const perSend = Math.max(1, Math.min(20_000, Math.floor(Math.min(4 * 1024 * 1024, options.partitions * 768 * 1024) / perRecord)));
  const inFlight = new Set<Promise<unknown>>();
  for (let first = 0; first < options.records; first += perSend) {
    const count = Math.min(perSend, options.records - first);
    const messages: Message[] = new Array(count);
    for (let j = 0; j < count; j++) {
      const k = (first + j) % options.keys;
      messages[j] = { key: keyBuffers[k]!, value, partition: k % options.partitions };
    }
    const sent = producer.send({ topic: options.topic, messages, acks: 1 }).finally(() => inFlight.delete(sent));
    inFlight.add(sent);
    if (inFlight.size >= 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return (nowMs() - started) / 1000;
}

// ---------------------------------------------------------------------------------------------
// Measurements.

export interface Throughput {
  /** Records (or requests) counted. */
  records: number;
  /** False when the time cap stopped the run before every record was counted. */
  complete: boolean;
  seconds: number;
  perSecond: number;
  cpuMicrosPerRecord: number;
  /** Group join (or connect) until the measurement started, seconds; for information. */
  startupSeconds?: number;
}

function throughput(
  records: number,
  complete: boolean,
  startMs: number,
  endMs: number,
  cpu0: number,
  cpu1: number,
  startupSeconds?: number,
): Throughput {
  const seconds = Math.max(1e-6, (endMs - startMs) / 1000);
  return {
    records,
    complete,
    seconds,
    perSecond: records / seconds,
    cpuMicrosPerRecord: records > 0 ? (cpu1 - cpu0) / records : NaN,
    ...(startupSeconds !== undefined ? { startupSeconds } : {}),
  };
}

/**
 * Raw kafkajs consumption with a no-op `eachBatch` (counts only), the dispatcher's fetch settings.
 * Measured from joining the group (kafkajs GROUP_JOIN) to the last record, as the dispatcher is.
 */
export async function consumerLimit(kafka: Kafka, topic: string, records: number, capMs: number): Promise<Throughput> {
  const groupId = `${topic}-raw`;
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: DEFAULTS.sessionTimeoutMs,
    heartbeatInterval: 3000,
    maxWaitTimeInMs: 1000,
    maxBytesPerPartition: DEFAULTS.fetchMaxBytesPerPartition,
    allowAutoTopicCreation: false,
  });
  const begun = nowMs();
  let joinedAt = 0;
  let cpu0 = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (joinedAt === 0) {
      joinedAt = nowMs();
      cpu0 = cpuMicros();
    }
  });
  let count = 0;
  let endAt = 0;
  let cpu1 = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: 1,
    eachBatchAutoResolve: true,
    eachBatch: async ({ batch }) => {
      count += batch.messages.length;
      if (count >= records && endAt === 0) {
        endAt = nowMs();
        cpu1 = cpuMicros();
        done();
      }
    },
  });
  const timer = setTimeout(done, capMs);
  await finished;
  clearTimeout(timer);
  if (endAt === 0) {
    endAt = nowMs();
    cpu1 = cpuMicros();
  }
  await consumer.disconnect();
  await admin(kafka, (a) => a.deleteGroups([groupId])).catch(() => {});
  return throughput(Math.min(count, records), count >= records, joinedAt || begun, endAt, cpu0, cpu1, ((joinedAt || begun) - begun) / 1000);
}

async function admin<T>(kafka: Kafka, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const a = kafka.admin();
  await a.connect();
  try {
    return await fn(a);
  } finally {
    await a.disconnect();
  }
}

/** The request the dispatcher would send for a record of `size` bytes: same headers, same body size. */
export function sampleRequest(size: number, topic = 'kd-bench'): { headers: Record<string, string>; body: Buffer } {
  const request = encodeCloudEvent(
    { topic, partition: 7, offset: 123456, key: Buffer.from('k42'), value: Buffer.alloc(size, 'x'), headers: {}, timestamp: Date.now() },
    { namespace: DEFAULTS.sourceNamespace, name: DEFAULTS.sourceName, keyType: DEFAULTS.keyType, extensions: {} },
  );
  return { headers: request.headers, body: request.body ?? Buffer.alloc(0) };
}

/**
 * Raw undici: POSTs of the dispatcher's request (CloudEvent headers, `size`-byte body) from a `Pool`
 * with `connections` keep-alive connections, `concurrency` requests at a time, response bodies read.
 */
export async function httpLimit(
  url: string,
  options: { requests: number; size: number; connections: number; concurrency: number; capMs: number },
): Promise<Throughput> {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: options.connections, keepAliveTimeout: 30_000 });
  const { headers, body } = sampleRequest(options.size);
  const one = async () => {
    const response = await pool.request({
      origin: target.origin,
      path: target.pathname,
      method: 'POST',
      headers,
      body,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    for await (const _chunk of response.body) {
      // drained, as the sender does
    }
    if (response.statusCode !== 200) throw new Error(`sink answered ${response.statusCode}`);
  };
  const run = async (total: number, deadline: number) => {
    let next = 0;
    const worker = async () => {
      while (next < total && nowMs() < deadline) {
        next++;
        await one();
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency, total) }, worker));
    return next;
  };
  // Warm-up: opens the connections and lets the JIT see the path.
  await run(Math.min(options.requests, 5000), nowMs() + 10_000);
  const cpu0 = cpuMicros();
  const start = nowMs();
  const done = await run(options.requests, start + options.capMs);
  const end = nowMs();
  const cpu1 = cpuMicros();
  await pool.close();
  return throughput(done, done >= options.requests, start, end, cpu0, cpu1);
}

/** Settings for a benchmark dispatcher: the defaults, a fresh group, the bench broker and sink. */
export function benchSettings(
  brokers: string[],
  topic: string,
  sinkUrl: string,
  ordering: Ordering,
  overrides: Partial<Settings> = {},
): Settings {
  return {
    ...DEFAULTS,
    brokers,
    topics: [topic],
    sinkUri: sinkUrl,
    groupId: `${topic}-${ordering}-${Math.random().toString(36).slice(2, 8)}`,
    initialOffset: 'earliest',
    metricsPort: 0,
    format: 'cloudevents',
    ordering,
    ...overrides,
  };
}

export interface DispatchRun extends Throughput {
  delivered: number;
  /** Records that finished otherwise (skipped, dead-lettered, discarded). */
  failed: number;
}

/**
 * `startDispatcher` in this process on a prefilled topic, until `records` have finished or the cap.
 * Measured from joining the group to the last finished record (wall and process CPU).
 */
export async function dispatchInProcess(settings: Settings, records: number, capMs: number): Promise<DispatchRun> {
  let finished = 0;
  let delivered = 0;
  let endAt = 0;
  let cpu1 = 0;
  let done!: () => void;
  const allDone = new Promise<void>((resolve) => (done = resolve));
  const begun = nowMs();
  const dispatcher = await startDispatcher(settings, {
    logger: createLogger({ level: 'warn' }),
    listeners: [
      {
        onFinished: (_record, result) => {
          finished++;
          if (result.outcome === 'delivered') delivered++;
          if (finished >= records && endAt === 0) {
            endAt = nowMs();
            cpu1 = cpuMicros();
            done();
          }
        },
      },
    ],
  });
  // Joined: the dispatcher reports ready once its consumer is in the group (poll, 1 ms).
  while (dispatcher.notReadyReason() === 'not yet joined the consumer group' && finished === 0 && nowMs() - begun < capMs) await sleep(1);
  const joinedAt = nowMs();
  const cpu0 = cpuMicros();
  const timer = setTimeout(done, Math.max(0, capMs - (joinedAt - begun)));
  await allDone;
  clearTimeout(timer);
  if (endAt === 0) {
    endAt = nowMs();
    cpu1 = cpuMicros();
  }
  await dispatcher.stop(5000);
  const t = throughput(Math.min(finished, records), finished >= records, joinedAt, endAt, cpu0, cpu1, (joinedAt - begun) / 1000);
  return { ...t, delivered, failed: finished - delivered };
}

// ---------------------------------------------------------------------------------------------
// The dispatcher as a child process (`kafka-dispatch run`), for RSS and latency.

export class DispatcherProcess {
  private tail = '';
  readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    const keep = (chunk: Buffer) => {
      this.tail = (this.tail + chunk.toString()).slice(-4000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }
  get output(): string {
    return this.tail;
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Runs the product as it ships: dist/cli/main.js (`npm run build`; `npm run bench` builds it), from
   * build/bench/lib.js two levels up.
   */
  static start(env: Record<string, string>, nodeArgs: string[] = []): DispatcherProcess {
    const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first (npm run bench does)`);
    const child = spawn(process.execPath, [...nodeArgs, cli, 'run'], {
      env: { ...process.env, METRICS_PORT: '0', LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new DispatcherProcess(child);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 35_000): Promise<number | null> {
    if (!this.running) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const code = await Promise.race([this.exited, sleep(graceMs).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      return this.exited;
    }
    return code;
  }
}

/** VmRSS and VmHWM of a process in MB, from /proc (Linux). */
export function memoryOf(pid: number): { rssMb: number; hwmMb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/**
 * Produces at `rate` records/s in small batches every `tickMs` (5 ms by default; kafkajs sends each `send` at once,
 * no linger), each record with a `ts` header: the send time in ms since the epoch, with a fraction.
 */
export class RateProducer {
  private timer: NodeJS.Timeout | undefined;
  private started = 0;
  sent = 0;
  acked = 0;
  errors = 0;
  private outstanding = 0;
  private partition = 0;
  private ackMsSum = 0;
  private ackCount = 0;
  private ackMsMax = 0;

  /** Produce request → ack, ms (mean, max) since the last call: how much of the latency is the producer's. */
  takeAckStats(): { meanMs: number; maxMs: number; sends: number } {
    const out = { meanMs: this.ackCount > 0 ? this.ackMsSum / this.ackCount : NaN, maxMs: this.ackMsMax, sends: this.ackCount };
    this.ackMsSum = 0;
    this.ackCount = 0;
    this.ackMsMax = 0;
    return out;
  }

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly options: { rate: number; size: number; partitions: number; tickMs?: number; maxOutstanding?: number },
  ) {}

  start(): void {
    this.started = nowMs();
    const value = Buffer.alloc(this.options.size, 'x');
    this.timer = setInterval(() => {
      if (this.outstanding >= (this.options.maxOutstanding ?? 64)) return;
      const due = Math.floor((this.options.rate * (nowMs() - this.started)) / 1000) - this.sent;
      if (due <= 0) return;
      const count = Math.min(due, 5000);
      const ts = nowMs().toFixed(3);
      const messages: Message[] = new Array(count);
      for (let i = 0; i < count; i++) {
        const partition = this.partition++ % this.options.partitions;
        messages[i] = { value, partition, headers: { ts } };
      }
      this.sent += count;
      this.outstanding++;
      const sentAt = nowMs();
      this.producer
        .send({ topic: this.topic, messages, acks: 1 })
        .then(() => {
          this.acked += count;
          const ms = nowMs() - sentAt;
          this.ackMsSum += ms;
          this.ackCount++;
          if (ms > this.ackMsMax) this.ackMsMax = ms;
        })
        .catch(() => (this.errors += count))
        .finally(() => this.outstanding--);
    }, this.options.tickMs ?? 5);
  }

  /** Rate reached so far, records/s. */
  get achievedRate(): number {
    return this.sent / Math.max(1e-6, (nowMs() - this.started) / 1000);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.outstanding > 0) await sleep(5);
  }
}
