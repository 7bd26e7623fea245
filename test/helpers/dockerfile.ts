import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

export interface Instruction {
  /** Upper case: FROM, COPY, RUN, ENV, ... */
  op: string;
  /** The rest of the line, continuation lines joined. */
  args: string;
}

export interface Stage {
  /** The image after FROM, e.g. `node:24-slim`, or an earlier stage's name. */
  from: string;
  /** The `AS` name ('' when unnamed). */
  name: string;
  instructions: Instruction[];
}

/** The repository's Dockerfile as stages in order (the last is the default build target). */
export function readDockerfile(file = join(ROOT, 'Dockerfile')): Stage[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const logical: string[] = [];
  let pending = '';
  for (const raw of lines) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push(`${pending}${line}`.trim());
    pending = '';
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const [op = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!m) throw new Error(`cannot read ${line}`);
      stages.push({ from: m[1]!, name: m[2] ?? '', instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${line} before the first FROM`);
      stage.instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

/** `COPY [--from=x] src... dest` → its parts. */
export function copyParts(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  const dest = words.pop()!;
  return { ...(from !== undefined ? { from } : {}), sources: words, dest };
}
