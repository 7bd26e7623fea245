import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPTIONS } from '../../src/config/options.js';
import { ROOT } from '../helpers/cli.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');

describe('README', () => {
  it('starts with the two commands, and CI runs exactly the second', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    const commands = firstBlock.split('\n').filter(Boolean).map((line) => line.split('#')[0]!.trim());
    expect(commands).toEqual(['npm ci && npm start', 'npm test']);
    expect(ci.split('\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('set ') && !l.startsWith('cd '))).toEqual(['npm ci --no-audit --no-fund', 'npm test']);
  });

  it('has a configuration reference row for every option, with its environment variable, flag and default', () => {
    const rows = readme.split('\n').filter((line) => line.startsWith('| `'));
    for (const option of OPTIONS) {
      const row = rows.find((r) => r.includes(`\`--${option.flag}\``));
      expect(row, `README row for --${option.flag}`).toBeDefined();
      for (const env of option.env) expect(row, `env ${env} in the row of --${option.flag}`).toContain(`\`${env}\``);
      expect(row).toContain(option.defaultText);
    }
  });
});
