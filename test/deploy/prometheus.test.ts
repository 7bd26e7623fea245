import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { freePort } from '../helpers/ports.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { DispatchMetrics } from '../../src/telemetry/metrics.js';
import { DASHBOARD_FILE, panelQueries } from '../../tools/grafana/dashboard.js';
import { ROOT, startCli, type CliProcess } from '../helpers/cli.js';
import { brokers, createTopic, disconnectKafka, produce } from '../helpers/kafka.js';
import { startRecordingSink, type RecordingSink } from '../helpers/recording-sink.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

// Prometheus is real here: Debian's `prometheus` package (/usr/bin/prometheus, /usr/bin/promtool;
// .ci/run installs it). promtool checks the shipped configuration and rules and runs the rules' unit
// tests; then a real Prometheus with the project's scrape configuration scrapes a real dispatcher (the
// built CLI, against the real broker and a loopback sink) and every query the project ships (the
// dashboard's panels, the README's examples, the KEDA trigger, the alert rules) must return series.

const PROMETHEUS_DIR = join(ROOT, 'deploy/prometheus');
const INSTALL = 'apt-get install prometheus (Debian: /usr/bin/prometheus and /usr/bin/promtool; .ci/run installs it)';

function binary(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat('/usr/bin', '/usr/local/bin')) {
    const path = join(dir, name);
    if (dir && existsSync(path) && statSync(path).isFile()) return path;
  }
  throw new Error(`${name} not found on PATH: ${INSTALL}`);
}

async function promtool(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(binary('promtool'), args, { cwd: ROOT, timeout: 60_000 });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
}
const alertRules = (
  parse(readFileSync(join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: AlertRule[] }> }
).groups.flatMap((g) => g.rules);

describe('promtool on deploy/prometheus', () => {
  it('accepts the scrape configuration and the rule files it names', async () => {
    const result = await promtool('check', 'config', 'deploy/prometheus/prometheus.yml');
    expect(result.out).toContain('SUCCESS: 1 rule files found');
    expect(result.code, result.out).toBe(0);
  });

  it('accepts the alert rules', async () => {
    const result = await promtool('check', 'rules', 'deploy/prometheus/alerts.yml');
    expect(result.code, result.out).toBe(0);
    expect(result.out).toContain(`SUCCESS: ${alertRules.length} rules found`);
  });

  it('passes the rules’ unit tests, which make every alert fire and every alert stay quiet', async () => {
    const result = await promtool('test', 'rules', 'deploy/prometheus/alerts.test.yml');
    expect(result.code, result.out).toBe(0);
    const tests = parse(readFileSync(join(PROMETHEUS_DIR, 'alerts.test.yml'), 'utf8')) as {
      tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const rule of alertRules) {
      expect(
        cases.some((c) => c.alertname === rule.alert && c.exp_alerts.length > 0),
        `${rule.alert} has a case where it fires`,
      ).toBe(true);
      expect(
        cases.some((c) => c.alertname === rule.alert && c.exp_alerts.length === 0),
        `${rule.alert} has a case where it stays quiet`,
      ).toBe(true);
    }
    for (const name of [
      'KafkaDispatchLagHigh',
      'KafkaDispatchRecordsSkipped',
      'KafkaDispatchDeadLetterFailures',
      'KafkaDispatchNotReady',
      'KafkaDispatchBrokersUnreachable',
    ])
      expect(alertRules.map((r) => r.alert)).toContain(name);
  });
});

/** The README's PromQL examples: every line of its ```promql blocks that is not a comment. */
function readmeQueries(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```promql\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.flatMap((b) => b.split('\n').map((l) => l.trim())).filter((l) => l !== '' && !l.startsWith('#'));
}

/** The query of every KEDA `prometheus` trigger in the Kubernetes manifests under deploy/ (wherever they live). */
function kedaQueries(): Array<{ file: string; query: string }> {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(entry.name)) files.push(path);
    }
  };
  walk(join(ROOT, 'deploy'));
  const out: Array<{ file: string; query: string }> = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const object = doc.toJS() as { kind?: string; spec?: { triggers?: Array<{ type: string; metadata?: { query?: string } }> } } | null;
      if (object?.kind !== 'ScaledObject') continue;
      for (const trigger of object.spec?.triggers ?? [])
        if (trigger.type === 'prometheus' && trigger.metadata?.query)
          out.push({ file: file.slice(ROOT.length), query: trigger.metadata.query });
    }
  }
  return out;
}

/**
 * A trailing comparison with a number (`… > 300`) filters series out until the condition holds; with
 * `bool` it keeps them, so the check is that the expression selects the series at all.
 */
function keepingSeries(expr: string): string {
  const match = /^([\s\S]*\S)\s*(>=|<=|==|!=|>|<)\s*(-?[\d.]+)$/.exec(expr.trim());
  return match ? `${match[1]} ${match[2]} bool ${match[3]}` : expr;
}

describe('a real Prometheus with deploy/prometheus/prometheus.yml scraping a real dispatcher', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'kd-prometheus-'));
  let sink: RecordingSink;
  let dispatcher: CliProcess | undefined;
  let prometheus: ChildProcess | undefined;
  let prometheusLog = '';
  let api = '';
  let topic = '';
  let group = '';
  const produced = { ok: 40, flaky: 10, dead: 5, lost: 5 };
  const total = Object.values(produced).reduce((a, b) => a + b, 0);

  async function query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const response = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: unknown };
    };
    if (body.status !== 'success') throw new Error(`Prometheus refused ${expr}: ${body.error}`);
    const { resultType, result } = body.data!;
    if (resultType === 'scalar') return [{ metric: {}, value: result as [number, string] }];
    return result as Array<{ metric: Record<string, string>; value: [number, string] }>;
  }

  /** Fails unless `expr` returns at least one series and every value is a number. */
  async function expectSeries(expr: string, what: string): Promise<void> {
    const result = await query(expr);
    expect(result.length, `${what}: ${expr} returned no series`).toBeGreaterThan(0);
    for (const sample of result) expect(Number.isFinite(Number(sample.value[1])), `${what}: ${expr} = ${sample.value[1]}`).toBe(true);
  }

  beforeAll(async () => {
    // Both binaries first: a missing one fails here with how to get it, not after the broker work.
    const prometheusBin = binary('prometheus');
    ({ topic, group } = await createTopic(3, 'kd-prometheus'));
    const failedOnce = new Set<string>();
    sink = await startRecordingSink((request) => {
      const kind = request.body.split('-')[0];
      if (request.url.startsWith('/dlq')) return { status: kind === 'lost' ? 500 : 200 };
      if (kind === 'dead' || kind === 'lost') return { status: 400 };
      if (kind === 'flaky' && !failedOnce.has(request.body)) {
        failedOnce.add(request.body);
        return { status: 503 };
      }
      return { status: 200, delayMs: 5 };
    });
    const metricsPort = await freePort();
    dispatcher = startCli(['run'], {
      KAFKA_BROKERS: brokers().join(','),
      KAFKA_TOPICS: topic,
      KAFKA_GROUP: group,
      KAFKA_INITIAL_OFFSET: 'earliest',
      K_SINK: `${sink.url}/sink`,
      DEAD_LETTER_SINK: `${sink.url}/dlq`,
      ORDERING: 'key',
      RETRY_COUNT: '1',
      BACKOFF_POLICY: 'fixed',
      BACKOFF_DELAY: '0.05',
      LAG_INTERVAL: '1',
      COMMIT_INTERVAL: '0.5',
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'warn',
    });

    // The project's configuration, its target pointed at the test's dispatcher, scraped every second.
    const config = parse(readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')) as {
      global: Record<string, string>;
      rule_files: string[];
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[]; labels?: Record<string, string> }> }>;
    };
    config.global.scrape_interval = '1s';
    config.global.evaluation_interval = '1s';
    config.rule_files = config.rule_files.map((file) => join(PROMETHEUS_DIR, file));
    const job = config.scrape_configs.find((j) => j.job_name === 'kafka-dispatch')!;
    // In a cluster, service discovery labels the series with the pod's namespace (what the KEDA
    // query selects on); a static target gets the same labels here.
    const ownLabels = new Set(
      new DispatchMetrics().registry.getMetricsAsArray().flatMap((m) => (m as unknown as { labelNames?: string[] }).labelNames ?? []),
    );
    const labels: Record<string, string> = {};
    for (const { query: q } of kedaQueries())
      for (const [, name, value] of q.matchAll(/(\w+)="([^"]*)"/g))
        if (!ownLabels.has(name!) && name !== '__name__') labels[name!] = value!;
    job.static_configs = [{ targets: [`127.0.0.1:${metricsPort}`], ...(Object.keys(labels).length > 0 ? { labels } : {}) }];
    const configFile = join(workDir, 'prometheus.yml');
    writeFileSync(configFile, stringify(config));
    const check = await promtool('check', 'config', configFile);
    expect(check.code, check.out).toBe(0);

    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      prometheusBin,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(workDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout!.on('data', (d: Buffer) => (prometheusLog += d.toString()));
    prometheus.stderr!.on('data', (d: Buffer) => (prometheusLog += d.toString()));
    await waitFor(
      async () => (await fetch(`${api}/-/ready`).catch(() => undefined))?.ok === true,
      `Prometheus ready:\n${prometheusLog}`,
      60_000,
    );
    await waitFor(
      async () => (await query('kafka_dispatch_consumer_connected == 1')).length === 1,
      'the dispatcher scraped and ready',
      60_000,
    );

    // Traffic over a few seconds, so that rates over the last minute see it: delivered, retried,
    // dead-lettered, and skipped after the dead letter failed.
    const kinds = Object.entries(produced).flatMap(([kind, n]) => Array.from({ length: n }, (_, i) => `${kind}-${i}`));
    for (let i = 0; i < kinds.length; i += 12) {
      await produce(
        topic,
        kinds.slice(i, i + 12).map((value) => ({ key: value, value })),
      );
      await sleep(400);
    }
    await waitFor(
      async () => {
        const finished = await query(`sum(kafka_dispatch_records_finished_total{topic="${topic}"})`);
        return Number(finished[0]?.value[1]) === total;
      },
      `Prometheus to see all ${total} records finished`,
      60_000,
    );
    // A few more scrapes, so that every rate window holds samples after the last record.
    await sleep(3000);
  }, 240_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await new Promise((resolve) => prometheus!.once('exit', resolve));
    }
    if (dispatcher) {
      dispatcher.child.kill('SIGTERM');
      await dispatcher.exited;
    }
    await sink?.close();
    await disconnectKafka();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('scrapes the dispatcher: the target is up and the outcomes are the ones the sink caused', async () => {
    const up = await query('up{job="kafka-dispatch"}');
    expect(up.map((s) => s.value[1])).toEqual(['1']);
    const outcomes = Object.fromEntries(
      (await query(`sum by (outcome) (kafka_dispatch_records_finished_total{topic="${topic}"})`)).map((s) => [
        s.metric.outcome,
        Number(s.value[1]),
      ]),
    );
    expect(outcomes).toEqual({ delivered: produced.ok + produced.flaky, dead_lettered: produced.dead, skipped: produced.lost });
  });

  it('returns series for every query of every dashboard panel', async () => {
    const dashboard = JSON.parse(readFileSync(join(ROOT, DASHBOARD_FILE), 'utf8')) as Parameters<typeof panelQueries>[0];
    const queries = panelQueries(dashboard);
    expect(queries.length).toBeGreaterThan(15);
    // Grafana's $__rate_interval: at least four scrape intervals; a minute here.
    for (const { panel, expr } of queries) await expectSeries(expr.replaceAll('$__rate_interval', '1m'), `panel "${panel}"`);
  });

  it('returns series for every PromQL example of the README', async () => {
    const queries = readmeQueries();
    expect(queries.length).toBeGreaterThan(4);
    for (const expr of queries) await expectSeries(keepingSeries(expr), 'README');
  });

  it('returns the saturation for the KEDA prometheus trigger’s query, as the manifest writes it', async () => {
    const queries = kedaQueries();
    expect(queries.length, 'a KEDA ScaledObject with a prometheus trigger under deploy/').toBeGreaterThan(0);
    for (const { file, query: expr } of queries) {
      await expectSeries(expr, file);
      const value = Number((await query(expr))[0]!.value[1]);
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(1);
    }
  });

  it('loads the alert rules, each selecting the dispatcher’s series, and fires the ones the traffic calls for', async () => {
    const response = (await (await fetch(`${api}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
    };
    const loaded = response.data.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name).sort()).toEqual(alertRules.map((r) => r.alert).sort());
    for (const rule of loaded) expect(rule.health, `${rule.name}: ${rule.lastError ?? ''}`).toBe('ok');
    for (const rule of alertRules) await expectSeries(keepingSeries(rule.expr), `alert ${rule.alert}`);
    // Skipped records and dead-letter failures happened: those two alerts (no `for`) fire; the rest do not.
    await waitFor(
      async () => {
        const alerts = (await (await fetch(`${api}/api/v1/alerts`)).json()) as {
          data: { alerts: Array<{ labels: { alertname: string }; state: string }> };
        };
        const firing = alerts.data.alerts.filter((a) => a.state === 'firing').map((a) => a.labels.alertname);
        return firing.includes('KafkaDispatchRecordsSkipped') && firing.includes('KafkaDispatchDeadLetterFailures');
      },
      'KafkaDispatchRecordsSkipped and KafkaDispatchDeadLetterFailures firing',
      15_000,
    );
    const alerts = (await (await fetch(`${api}/api/v1/alerts`)).json()) as {
      data: { alerts: Array<{ labels: { alertname: string; topic?: string }; state: string }> };
    };
    const active = alerts.data.alerts.map((a) => a.labels.alertname);
    for (const quiet of ['KafkaDispatchLagHigh', 'KafkaDispatchNotReady', 'KafkaDispatchBrokersUnreachable', 'KafkaDispatchDown'])
      expect(active, quiet).not.toContain(quiet);
  });
});
