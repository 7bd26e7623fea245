import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Reporter } from 'vitest/node';
import { FIGURES_DIR, type Figures } from './ledger.js';

/**
 * Prints the fault suite's figures (test/e2e/faults: each case writes build/faults/<case>.json
 * through its ledger) as one table at the end of the run, and keeps it in build/faults/figures.md.
 * Only figures written during this run count (another run's files are left alone); silent when no
 * fault case ran.
 */
export default class FaultsReporter implements Reporter {
  private startedAt = Date.now();

  onInit(): void {
    this.startedAt = Date.now();
  }

  onTestRunEnd(): void {
    let files: string[];
    try {
      files = readdirSync(FIGURES_DIR).filter((f) => f.endsWith('.json') && statSync(join(FIGURES_DIR, f)).mtimeMs >= this.startedAt);
    } catch {
      return;
    }
    if (files.length === 0) return;
    const rows = files
      .map((f) => JSON.parse(readFileSync(join(FIGURES_DIR, f), 'utf8')) as Figures)
      .sort((a, b) => a.case.localeCompare(b.case));
    const table = formatTable(rows);
    writeFileSync(join(FIGURES_DIR, 'figures.md'), `${table}\n`);
    process.stdout.write(`\nFault suite figures (${rows[0]!.form} form; build/faults/figures.md)\n${table}\n\n`);
  }
}

export function formatTable(rows: Figures[]): string {
  const ms = (v: number | null) => (v === null ? '-' : `${(v / 1000).toFixed(1)} s`);
  const header = [
    'case',
    'produced',
    'delivered',
    'skipped',
    'lost',
    'duplicates',
    'order violations',
    'resume',
    'peak RSS',
    'took',
    'notes',
  ];
  const body = rows.map((r) => [
    r.case,
    String(r.produced),
    String(r.delivered),
    String(r.skipped),
    String(r.lost),
    String(r.duplicates),
    r.orderViolations === null ? '-' : String(r.orderViolations),
    ms(r.resumeMs),
    r.peakRssMiB === null ? '-' : `${r.peakRssMiB} MiB`,
    ms(r.durationMs),
    r.notes ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
