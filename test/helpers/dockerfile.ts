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
  /**
   * The image after FROM with the global ARGs' defaults put in, e.g. `node:24.22.3-trixie-slim`, or
   * an earlier stage's name.
   */
  from: string;
  /** FROM's `--platform=` value as written ('' when none). */
  platform: string;
  /** The `AS` name ('' when unnamed). */
  name: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** The ARGs before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

/** The repository's Dockerfile as stages in order (the last is the default build target). */
export function readDockerfile(file = join(ROOT, 'Dockerfile')): Stage[] {
  return parseDockerfile(readFileSync(file, 'utf8')).stages;
}

/**
 * A Dockerfile's instructions: comments and blank lines dropped, `\` continuations joined (comment
 * lines inside a continuation are skipped, as BuildKit does). Enough for this repository's file
 * (no heredocs, no escape directive).
 */
export function parseDockerfile(text: string): Dockerfile {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push(`${pending}${line}`.trim());
    pending = '';
  }
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  const expand = (value: string) =>
    value.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, a: string | undefined, b: string | undefined) => globalArgs[(a ?? b)!] ?? whole);
  for (const line of logical) {
    const [op = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const m = /^((?:--\S+\s+)*)(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!m) throw new Error(`cannot read ${line}`);
      const platform = /--platform=(\S+)/.exec(m[1] ?? '')?.[1] ?? '';
      stages.push({ from: expand(m[2]!), platform, name: m[3] ?? '', instructions: [] });
    } else if (stages.length === 0) {
      if (upper !== 'ARG') throw new Error(`${line} before the first FROM`);
      const [name, value = ''] = args.split(/=(.*)/s);
      globalArgs[name!] = value;
    } else {
      stages.at(-1)!.instructions.push({ op: upper, args });
    }
  }
  return { globalArgs, stages };
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

/** `LABEL k="v" k2=v2 ...` → the pairs (double-quoted values unquoted). */
export function labelPairs(args: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const m of args.matchAll(/([\w.-]+)=("((?:[^"\\]|\\.)*)"|\S+)/g)) pairs[m[1]!] = m[3] ?? m[2]!;
  return pairs;
}

/** `HEALTHCHECK [--opt=v ...] CMD ["exec", "form"]` → its options and command. */
export function healthcheckParts(args: string): { options: Record<string, string>; command: string[] } {
  const m = /^((?:--\S+\s+)*)CMD\s+(\[.*\])$/.exec(args);
  if (!m) throw new Error(`HEALTHCHECK is not in the exec form: ${args}`);
  const options = Object.fromEntries([...(m[1] ?? '').matchAll(/--([\w-]+)=(\S+)/g)].map((o) => [o[1]!, o[2]!]));
  return { options, command: JSON.parse(m[2]!) as string[] };
}
