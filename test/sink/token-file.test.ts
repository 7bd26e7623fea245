import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TokenFile } from '../../src/sink/token-file.js';

describe('bearer token file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kd-token-'));
  const file = join(dir, 'token');
  afterEach(() => vi.useRealTimers());

  it('reads the token trimmed, and an empty file as no token', () => {
    writeFileSync(file, '  abc.def.ghi\n');
    expect(new TokenFile(file).get()).toBe('abc.def.ghi');
    writeFileSync(file, '\n');
    expect(new TokenFile(file).get()).toBeUndefined();
  });

  it('picks up a rotated token at the next check (at most once a second), not before', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    writeFileSync(file, 'first');
    utimesSync(file, 1000, 1000);
    const token = new TokenFile(file);
    expect(token.get()).toBe('first');
    writeFileSync(file, 'second');
    utimesSync(file, 2000, 2000);
    vi.setSystemTime(1_000_500);
    expect(token.get()).toBe('first');
    vi.setSystemTime(1_001_600);
    expect(token.get()).toBe('second');
  });

  it('keeps the last token and reports the error while the file is gone', () => {
    vi.useFakeTimers({ now: 2_000_000 });
    writeFileSync(file, 'kept');
    const errors: Error[] = [];
    const token = new TokenFile(file, (error) => errors.push(error));
    rmSync(file);
    vi.setSystemTime(2_002_000);
    expect(token.get()).toBe('kept');
    expect(errors).toHaveLength(1);
    expect((errors[0] as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});
