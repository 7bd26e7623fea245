import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { validateCommand } from '../../src/cli/validate.js';
import { runCli } from '../helpers/cli.js';
import { INVALID_CONFIGS, MANIFEST, VALID_ENV, type InvalidCase } from '../fixtures/invalid-configs.js';

const dir = mkdtempSync(join(tmpdir(), 'kd-corpus-'));

/** The arguments and environment of `validate` for one case, the manifest written to a file of its own. */
function invocation(c: InvalidCase, index: number): { argv: string[]; env: Record<string, string>; field: string } {
  if (c.manifest === undefined) return { argv: c.flags ?? [], env: { ...VALID_ENV, ...c.env }, field: c.field };
  const file = join(dir, `case-${index}.yaml`);
  writeFileSync(file, c.manifest);
  return { argv: ['--kafkasource', file, ...(c.flags ?? [])], env: { ...c.env }, field: c.field === MANIFEST ? file : c.field };
}

function checkRefusal(c: InvalidCase, field: string, code: number | null, stderr: string): void {
  expect(code, stderr).toBe(2);
  expect(stderr, 'no stack trace').not.toMatch(/\n\s+at \S+ \(|\n\s+at file:/);
  if (c.usage) expect(stderr).toContain(field);
  else {
    expect(stderr, `names ${field}`).toContain(`  - ${field}: `);
    expect(
      stderr.split('\n').filter((line) => line.startsWith('  - ')),
      'one issue per mistake',
    ).toHaveLength(c.issues ?? 1);
  }
  if (c.says) expect(stderr).toMatch(c.says);
  if (c.secret) expect(stderr, 'the secret is never printed').not.toContain(c.secret);
}

describe(`${INVALID_CONFIGS.length} invalid configurations, each wrong in one way: refused with exit 2 naming the field`, () => {
  afterEach(() => vi.restoreAllMocks());

  it('the corpus holds at least 100 cases', () => {
    expect(INVALID_CONFIGS.length).toBeGreaterThanOrEqual(100);
  });

  it.each(INVALID_CONFIGS.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, index) => {
    const { argv, env, field } = invocation(c, index);
    let stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const code = await validateCommand(argv, env);
    vi.restoreAllMocks();
    checkRefusal(c, field, code, stderr);
  });

  it.each(INVALID_CONFIGS.map((c, i) => [c.name, c, i] as const).filter(([, c]) => c.e2e))(
    'the real CLI process: %s',
    async (_name, c, index) => {
      const { argv, env, field } = invocation(c, index);
      const { code, stderr } = await runCli(['validate', ...argv], env, 30_000);
      checkRefusal(c, field, code, stderr);
    },
  );
});
