import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DispatchMetrics } from '../../src/telemetry/metrics.js';
import {
  buildDashboard,
  DASHBOARD_FILE,
  dashboardJson,
  DATASOURCE,
  LAG_SECONDS_ALERT,
  panelQueries,
} from '../../tools/grafana/dashboard.js';
import { ROOT } from '../helpers/cli.js';

const committed = readFileSync(join(ROOT, DASHBOARD_FILE), 'utf8');
const dashboard = buildDashboard();
const queries = panelQueries(dashboard);

/** Every series name the dispatcher exports (histograms as their _bucket, _sum and _count series). */
async function exportedNames(): Promise<Set<string>> {
  const metrics = new DispatchMetrics({ defaultMetrics: true });
  const names = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(m.name + suffix);
  }
  return names;
}

/** Metric names in a PromQL expression: identifiers that are not functions, keywords, labels or Grafana variables. */
function metricNames(expr: string): string[] {
  const stripped = expr.replace(/\{[^}]*\}/g, '').replace(/\$__\w+/g, '');
  const words = stripped.match(/[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*[[){\s/*+-]|$)/g) ?? [];
  return words.filter((w) => w.startsWith('kafka_dispatch_') || w === 'up');
}

describe('Grafana dashboard (deploy/grafana/dashboards/kafka-dispatch.json)', () => {
  it('is exactly what tools/grafana/dashboard.ts builds (regenerate with npm run dashboard)', () => {
    expect(committed, 'the committed dashboard differs from the generator: run npm run dashboard').toBe(dashboardJson());
  });

  it('queries only metrics the dispatcher exports', async () => {
    const names = await exportedNames();
    const used = queries.flatMap((q) => metricNames(q.expr));
    expect(used.length).toBeGreaterThan(10);
    for (const name of used) expect(names, `a panel queries ${name}`).toContain(name);
  });

  it('has the panels an operator needs: lag in records and seconds, throughput, outcomes, latency percentiles, in-flight against capacity, limit and demand', () => {
    const byPanel = new Map<string, string[]>();
    for (const { panel, expr } of queries) byPanel.set(panel, [...(byPanel.get(panel) ?? []), expr]);
    const panelWith = (...needles: string[]) =>
      [...byPanel.entries()].find(([, exprs]) => needles.every((n) => exprs.some((e) => e.includes(n))))?.[0];
    expect(panelWith('kafka_dispatch_consumer_group_lag)')).toBeDefined();
    expect(panelWith('kafka_dispatch_consumer_group_lag_seconds')).toBeDefined();
    expect(panelWith('rate(kafka_dispatch_records_received_total', 'rate(kafka_dispatch_records_finished_total')).toBeDefined();
    expect(panelWith('sum by (outcome) (rate(kafka_dispatch_records_finished_total')).toBeDefined();
    expect(panelWith('histogram_quantile(0.99', 'kafka_dispatch_attempt_duration_seconds_bucket')).toBeDefined();
    expect(panelWith('histogram_quantile(0.5', 'kafka_dispatch_end_to_end_seconds_bucket')).toBeDefined();
    expect(
      panelWith(
        'kafka_dispatch_in_flight_requests',
        'kafka_dispatch_in_flight_capacity',
        'kafka_dispatch_in_flight_limit',
        'kafka_dispatch_concurrency_demand',
      ),
    ).toBeDefined();
    // No metric for the sink's pods exists: the panel says so and queries nothing.
    const pods = dashboard.panels!.find((p) => p.title === 'Sink pods') as { type: string; description?: string; targets?: unknown[] };
    expect(pods.type).toBe('text');
    expect(pods.description).toMatch(/no metric/i);
    expect(pods.targets ?? []).toEqual([]);
  });

  it('draws the lag alert threshold of deploy/prometheus/alerts.yml', () => {
    const alerts = parse(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
    };
    const lag = alerts.groups.flatMap((g) => g.rules).find((r) => r.alert === 'KafkaDispatchLagHigh')!;
    expect(lag.expr).toMatch(new RegExp(`kafka_dispatch_consumer_group_lag_seconds\\) > ${LAG_SECONDS_ALERT}$`));
    const panel = dashboard.panels!.find((p) => p.title === 'Lag (seconds)') as {
      fieldConfig: { defaults: { thresholds: { steps: Array<{ value: number | null }> } } };
    };
    expect(panel.fieldConfig.defaults.thresholds.steps.map((s) => s.value)).toContain(LAG_SECONDS_ALERT);
  });

  it('uses the provisioned data source, and Grafana loads the file from where compose mounts it', () => {
    const provisioned = parse(readFileSync(join(ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as {
      datasources: Array<{ uid: string; type: string; url: string }>;
    };
    expect(provisioned.datasources).toContainEqual(expect.objectContaining({ uid: DATASOURCE.uid, type: DATASOURCE.type }));
    for (const panel of dashboard.panels!) {
      if (panel.type === 'row' || panel.type === 'text') continue;
      expect(panel.datasource, panel.title).toEqual(DATASOURCE);
      for (const target of (panel as { targets?: Array<{ datasource?: unknown }> }).targets ?? [])
        expect(target.datasource, panel.title).toEqual(DATASOURCE);
    }
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { volumes?: string[]; environment?: Record<string, string> }>;
    };
    const grafana = compose.services.grafana!;
    const provider = parse(readFileSync(join(ROOT, 'deploy/grafana/provisioning/dashboards/kafka-dispatch.yml'), 'utf8')) as {
      providers: Array<{ options: { path: string } }>;
    };
    const dashboardsDir = provider.providers[0]!.options.path;
    expect(grafana.volumes).toContain(`./deploy/grafana/dashboards:${dashboardsDir}:ro`);
    expect(grafana.volumes).toContain('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(grafana.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(`${dashboardsDir}/kafka-dispatch.json`);
    expect(provisioned.datasources[0]!.url).toBe('http://prometheus:9090');
  });
});
