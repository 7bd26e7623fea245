/**
 * A raw kafkajs consumer in its own process, with the dispatcher's fetch settings and a no-op
 * `eachBatch` that records, per record, its receipt time minus its `ts` header (set by the bench
 * producer at send time). The baseline of the latency scenario: what Kafka and kafkajs alone add.
 *
 * Env: BENCH_BROKERS, BENCH_TOPIC, BENCH_GROUP, BENCH_MAX_BYTES_PER_PARTITION.
 * Prints `{"port":N}` when its control server listens; `GET /stats` (count, p50, p90, p99, max in ms),
 * `GET /reset`. Stops on SIGTERM / SIGINT / stdin end.
 */
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel } from 'kafkajs';

const now = () => performance.timeOrigin + performance.now();
let count = 0;
let latencies: number[] = [];

const kafka = new Kafka({
  clientId: 'kd-bench-consumer',
  brokers: (process.env.BENCH_BROKERS ?? '').split(','),
  logLevel: logLevel.NOTHING,
});
const consumer = kafka.consumer({
  groupId: process.env.BENCH_GROUP ?? 'kd-bench-consumer',
  sessionTimeout: 30_000,
  heartbeatInterval: 3000,
  maxWaitTimeInMs: 1000,
  maxBytesPerPartition: Number(process.env.BENCH_MAX_BYTES_PER_PARTITION ?? 262_144),
  allowAutoTopicCreation: false,
});

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://consumer');
  let body: unknown = { ok: true };
  if (url.pathname === '/reset') {
    count = 0;
    latencies = [];
  } else if (url.pathname === '/stats') {
    const sorted = Float64Array.from(latencies).sort();
    const at = (q: number) =>
      sorted.length > 0 ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]! : null;
    body = { count, latencyCount: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
  }
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
});

async function main(): Promise<void> {
  await consumer.connect();
  await consumer.subscribe({ topics: [process.env.BENCH_TOPIC ?? ''], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: 1,
    eachBatchAutoResolve: true,
    eachBatch: async ({ batch }) => {
      const t = now();
      for (const m of batch.messages) {
        count++;
        const ts = m.headers?.ts;
        if (ts !== undefined && latencies.length < 4_000_000) latencies.push(t - Number(ts.toString()));
      }
    },
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
  });
}

const stop = () => {
  server.close();
  void consumer.disconnect().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 5000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
main().catch((error: unknown) => {
  process.stderr.write(`consumer process failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
