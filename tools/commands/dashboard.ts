/**
 * `node build/tools/cli.js dashboard [--check]` (npm run dashboard): writes the Grafana dashboard that
 * tools/grafana/dashboard.ts builds to deploy/grafana/dashboards/kafka-dispatch.json, or with --check
 * exits 1 when the committed file is not what the code builds. Run from the repository root.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DASHBOARD_FILE, dashboardJson } from '../grafana/dashboard.js';

const USAGE = `usage: node build/tools/cli.js dashboard [--check]   (npm run dashboard -- [--check])

Writes the Grafana dashboard built by tools/grafana/dashboard.ts to ${DASHBOARD_FILE}.
  --check     write nothing; exit 1 when the file differs from what the code builds
  -h, --help  this text`;

export function dashboardCommand(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: { check: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (error) {
    process.stderr.write(`dashboard: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const json = dashboardJson();
  if (values.check) {
    let committed = '';
    try {
      committed = readFileSync(DASHBOARD_FILE, 'utf8');
    } catch {
      // missing: differs
    }
    if (committed === json) {
      process.stdout.write(`${DASHBOARD_FILE} is up to date\n`);
      return 0;
    }
    process.stderr.write(`${DASHBOARD_FILE} differs from what tools/grafana/dashboard.ts builds: run npm run dashboard\n`);
    return 1;
  }
  writeFileSync(DASHBOARD_FILE, json);
  process.stdout.write(`wrote ${DASHBOARD_FILE}\n`);
  return 0;
}
