/**
 * The figures of a run: counts, the achieved rate and the produce latency (send call → the broker's
 * ack) per message; every message of one request shares that request's latency.
 */
export class LatencyRecorder {
  private readonly samples: Array<{ ms: number; count: number }> = [];

  add(ms: number, count = 1): void {
    if (count > 0) this.samples.push({ ms, count });
  }

  /** The nearest-rank percentile (0 < p ≤ 100) over messages; undefined with no sample. */
  percentile(p: number): number | undefined {
    return percentile(this.samples, p);
  }
}

export function percentile(samples: ReadonlyArray<{ ms: number; count: number }>, p: number): number | undefined {
  const total = samples.reduce((sum, s) => sum + s.count, 0);
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  const sorted = [...samples].sort((a, b) => a.ms - b.ms);
  let seen = 0;
  for (const s of sorted) {
    seen += s.count;
    if (seen >= rank) return s.ms;
  }
  return sorted.at(-1)!.ms;
}

export interface Summary {
  topic: string;
  shape: string;
  /** Messages the schedule would send. */
  target: number;
  /** Acknowledged by the broker. */
  sent: number;
  failed: number;
  /** Seconds from the start to the later of the schedule's end and the last ack (or to Ctrl-C). */
  durationS: number;
  /** The schedule's own rate: target / its duration. */
  targetRate: number;
  /** sent / durationS. */
  achievedRate: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  /** The worst delay of a request behind its schedule. */
  maxLateMs: number;
  interrupted: boolean;
}

export function summarize(input: {
  topic: string;
  shape: string;
  target: number;
  scheduleMs: number;
  sent: number;
  failed: number;
  elapsedMs: number;
  maxLateMs: number;
  latencies: LatencyRecorder;
  interrupted: boolean;
}): Summary {
  const round = (n: number, digits: number) => Number(n.toFixed(digits));
  const durationS = input.elapsedMs / 1000;
  return {
    topic: input.topic,
    shape: input.shape,
    target: input.target,
    sent: input.sent,
    failed: input.failed,
    durationS: round(durationS, 3),
    targetRate: input.scheduleMs > 0 ? round((input.target * 1000) / input.scheduleMs, 2) : 0,
    achievedRate: durationS > 0 ? round(input.sent / durationS, 2) : 0,
    latencyP50Ms: nullable(input.latencies.percentile(50), (n) => round(n, 2)),
    latencyP99Ms: nullable(input.latencies.percentile(99), (n) => round(n, 2)),
    maxLateMs: round(input.maxLateMs, 2),
    interrupted: input.interrupted,
  };
}

function nullable<T>(value: T | undefined, map: (v: T) => T): T | null {
  return value === undefined ? null : map(value);
}

export function formatSummary(s: Summary): string {
  const ms = (n: number | null) => (n === null ? 'n/a' : `${n.toFixed(1)} ms`);
  return [
    `summary${s.interrupted ? ' (interrupted)' : ''}: ${s.topic}, ${s.shape}`,
    `  sent      ${s.sent} of ${s.target}, failed ${s.failed}`,
    `  rate      ${s.achievedRate.toFixed(1)} msg/s achieved over ${s.durationS.toFixed(1)} s (target ${s.targetRate.toFixed(1)} msg/s)`,
    `  latency   p50 ${ms(s.latencyP50Ms)}, p99 ${ms(s.latencyP99Ms)} (send → ack); worst start behind schedule ${s.maxLateMs.toFixed(1)} ms`,
  ].join('\n');
}
