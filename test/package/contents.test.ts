import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

// What `npm publish` would ship: the product only (run, validate, lag and the library entry).
let files: string[] = [];
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  main: string;
  types: string;
  exports: Record<string, { types: string; default: string }>;
};

beforeAll(() => {
  // `npm test` builds first (pretest); a lone run of this file builds when dist/ is missing.
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [report] = JSON.parse(out) as Array<{ files: Array<{ path: string }> }>;
  files = report!.files.map((f) => f.path);
}, 120_000);

describe('the npm package', () => {
  it('holds the CLI and the library entry with its declarations', () => {
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('package.json');
    expect(files).toContain('README.md');
    for (const path of [...Object.values(pkg.bin), pkg.main, pkg.types, pkg.exports['.']!.default, pkg.exports['.']!.types]) {
      expect(files, path).toContain(path.replace(/^\.\//, ''));
    }
  });

  it('holds no developer tooling: nothing from bench, broker, demo or tools', () => {
    const tooling = files.filter(
      (f) => /(^|\/)(bench|broker|demo|tools)(\/|\.|-|$)/.test(f) || /^dist\/cli\/(demo|demo-sink|kafka)\.js$/.test(f),
    );
    expect(tooling).toEqual([]);
    expect(files.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(f))).toEqual([]);
  });

  it('holds no source maps, no tsbuildinfo, no sources and no tests', () => {
    expect(files.filter((f) => f.endsWith('.map') || f.endsWith('.tsbuildinfo'))).toEqual([]);
    expect(files.filter((f) => /^(src|test|tools|bench|build)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });
});
