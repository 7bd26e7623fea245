import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, OPTIONS, optionFor } from '../../src/config/options.js';
import { optionsTable } from '../../src/config/reference.js';
import { formatValue, unsetText } from '../../src/config/schema.js';
import { ROOT } from '../helpers/cli.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');

const table = /<!-- options:start -->\n([\s\S]*?)\n<!-- options:end -->/.exec(readme)?.[1] ?? '';
const rows = table.split('\n').filter((line) => line.startsWith('| `'));
/** The cells of a row, `\|` inside a cell kept. */
const cells = (row: string) =>
  row
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
const rowOf = (flag: string) => rows.find((r) => cells(r)[1] === `\`--${flag}\``);
const defaultCell = (flag: string) => cells(rowOf(flag) ?? '| | | | |')[3]!.replace(/^`|`$/g, '');
const defaults = DEFAULTS as Record<string, unknown>;

describe('README', () => {
  it('starts with the two commands, and CI runs exactly the second', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    const commands = firstBlock
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('#')[0]!.trim());
    expect(commands).toEqual(['npm ci && npm start', 'npm test']);
    const steps = ci.split('\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('set ') && !l.startsWith('cd '));
    // A clean install first, the lint and the fast unit run before it, the README's test command last.
    expect(steps[0]).toBe('npm ci --no-audit --no-fund');
    expect(steps).toContain('npm run lint');
    expect(steps.at(-1)).toBe('npm test');
  });

  it('has a configuration reference row for every option, with its environment variables and flag', () => {
    expect(rows).toHaveLength(OPTIONS.length);
    for (const option of OPTIONS) {
      const row = rowOf(option.flag);
      expect(row, `README row for --${option.flag}`).toBeDefined();
      expect(cells(row!)[0]).toBe(option.env.map((e) => `\`${e}\``).join(', '));
    }
  });

  it('the default column holds the real defaults, formatted with their units', () => {
    for (const option of OPTIONS) {
      const cell = defaultCell(option.flag);
      if (!(option.key in defaults)) {
        expect(cell, `--${option.flag}`).toBe('(required)');
        continue;
      }
      const value = defaults[option.key];
      const main = optionFor(option.key) === option;
      if (value === undefined) expect(cell, `--${option.flag}`).toBe(unsetText(option.key));
      // A second option of a setting (--retry-interval for the backoff delay) has no default of its own.
      else if (!main) expect([defaultCell(optionFor(option.key).flag), 'none'], `--${option.flag}`).toContain(cell);
      else {
        expect(cell.startsWith(formatValue(option.key, value)), `--${option.flag}: "${cell}" for ${JSON.stringify(value)}`).toBe(true);
        // Written back as a user would set it, the cell's value parses to the default itself.
        const text = cell.replace(/ \(.*\)$/, '').replace(/ s$/, '');
        expect(option.parse(text), `--${option.flag} "${text}"`).toEqual({ value });
      }
    }
  });

  it.each([
    ['brokers', '(required)'],
    ['sink', '(required)'],
    ['request-timeout', '600 s (Knative)'],
    ['backoff-delay', '0.3 s (Knative)'],
    ['retry-count', '10 (Knative, delivery omitted)'],
    ['max-in-flight', '256'],
    ['fetch-max-wait', '0.1 s'],
    ['fetch-max-bytes-per-partition', '262144 (256 KiB)'],
    ['max-record-age', '0 (no limit)'],
    ['ce-overrides', '{}'],
    ['kafka-tls', 'false'],
    ['dead-letter-sink', 'none'],
    ['kafka-tls-ca-file', 'system CAs'],
  ])('--%s defaults to %s', (flag, text) => {
    expect(defaultCell(flag)).toBe(text);
  });

  it('the reference table is exactly the one the schema generates (npm run build && node scripts/options-table.mjs)', () => {
    expect(table).toBe(optionsTable());
  });
});
