import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { afterEach } from 'vitest';
import { startCli, type CliProcess } from './cli.js';

export interface LogLine {
  msg: string;
  level: string | number;
  time?: number;
  [field: string]: unknown;
}

/** Samples a process's memory from /proc: VmHWM (the kernel's own peak) and VmRSS over time. */
export class RssSampler {
  readonly samples: Array<{ at: number; rssKiB: number }> = [];
  private hwmKiB = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly pid: number,
    intervalMs = 250,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    this.sample();
  }

  sample(): void {
    let status: string;
    try {
      status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    } catch {
      this.stop(); // the process is gone
      return;
    }
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (rss) this.samples.push({ at: Date.now(), rssKiB: Number(rss[1]) });
    if (hwm) this.hwmKiB = Math.max(this.hwmKiB, Number(hwm[1]));
  }

  /** The highest resident set seen, MiB. */
  get peakMiB(): number {
    const sampled = Math.max(0, ...this.samples.map((s) => s.rssKiB));
    return Math.round(Math.max(this.hwmKiB, sampled) / 102.4) / 10;
  }

  /** Highest VmRSS sampled in [from, to], MiB. */
  maxBetween(from: number, to: number): number {
    const inRange = this.samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.rssKiB);
    return inRange.length > 0 ? Math.max(...inRange) / 1024 : Number.NaN;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** A `kafka-dispatch run` process of the fault suite, with its logs, metrics and memory at hand. */
export interface DispatcherProcess {
  name: string;
  cli: CliProcess;
  pid: number;
  metricsPort: number;
  rss: RssSampler;
  exitCode: number | null | undefined;
  /** Every complete JSON log line of stdout so far. */
  logs(): LogLine[];
  /** The sum of a metric's samples whose labels contain `labels` (e.g. `outcome="skipped"`). */
  metric(name: string, labels?: string): Promise<number>;
  /** Partitions this member was last given by the group (from its `joined group` log). */
  assigned(): number[];
  /** SIGTERM, then waits for the exit; SIGKILLs after `timeoutMs`. Resolves with the exit code and how long it took. */
  terminate(timeoutMs?: number): Promise<{ code: number | null; ms: number }>;
  kill(): Promise<void>;
}

/**
 * Starts `kafka-dispatch run` processes (the built CLI under the Node that runs the tests) and
 * SIGKILLs whatever is still running after each test, passed or failed.
 */
export function useDispatcherProcesses() {
  const running = new Set<DispatcherProcess>();
  afterEach(async () => {
    await Promise.all([...running].map((p) => p.kill()));
    running.clear();
  });

  async function start(name: string, env: Record<string, string>): Promise<DispatcherProcess> {
    const metricsPort = await freePort();
    const cli = startCli(['run'], { LOG_LEVEL: 'info', ...env, METRICS_PORT: String(metricsPort) });
    const pid = cli.child.pid!;
    const rss = new RssSampler(pid);
    let parsedUpTo = 0;
    const lines: LogLine[] = [];
    const logs = () => {
      const out = cli.stdout();
      const end = out.lastIndexOf('\n');
      if (end > parsedUpTo) {
        for (const line of out.slice(parsedUpTo, end).split('\n')) {
          if (!line.startsWith('{')) continue;
          try {
            lines.push(JSON.parse(line) as LogLine);
          } catch {
            // not a log line
          }
        }
        parsedUpTo = end + 1;
      }
      return lines;
    };
    const proc: DispatcherProcess = {
      name,
      cli,
      pid,
      metricsPort,
      rss,
      exitCode: undefined,
      logs,
      async metric(metric, labels = '') {
        const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
        const text = await response.text();
        let sum = 0;
        for (const line of text.split('\n')) {
          if (!line.startsWith(metric)) continue;
          const match = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
          if (!match || match[1] !== metric || !(match[2] ?? '').includes(labels)) continue;
          sum += Number(match[3]);
        }
        return sum;
      },
      assigned() {
        const joins = logs().filter((l) => l.msg === 'joined group');
        const last = joins.at(-1)?.assigned as Array<{ partitions: number[] }> | undefined;
        return (last ?? []).flatMap((tp) => tp.partitions);
      },
      async terminate(timeoutMs = 60_000) {
        const started = Date.now();
        if (proc.exitCode === undefined) cli.child.kill('SIGTERM');
        const timer = setTimeout(() => cli.child.kill('SIGKILL'), timeoutMs);
        const code = await cli.exited;
        clearTimeout(timer);
        return { code, ms: Date.now() - started };
      },
      async kill() {
        if (proc.exitCode === undefined) cli.child.kill('SIGKILL');
        await cli.exited;
      },
    };
    void cli.exited.then((code) => {
      proc.exitCode = code;
      rss.stop();
      running.delete(proc);
    });
    running.add(proc);
    return proc;
  }

  return { start, running };
}

/** The environment of a dispatcher that reads `topic` as `group` and delivers to `sinkUrl`. */
export function baseEnv(brokers: string, topic: string, group: string, sinkUrl: string): Record<string, string> {
  return {
    KAFKA_BROKERS: brokers,
    KAFKA_TOPICS: topic,
    KAFKA_GROUP: group,
    KAFKA_INITIAL_OFFSET: 'earliest',
    K_SINK: sinkUrl,
  };
}

/** Writes each member's log (and what went wrong) under build/faults/<name>/, for a failed run's post-mortem. */
export function keepLogs(name: string, members: DispatcherProcess[], verdict: unknown): string {
  const dir = join('build', 'faults', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'verdict.json'), `${JSON.stringify(verdict, null, 2)}\n`);
  for (const member of members) writeFileSync(join(dir, `${member.name}.log`), member.cli.stdout());
  return dir;
}
