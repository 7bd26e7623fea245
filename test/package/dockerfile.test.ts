import { describe, expect, it } from 'vitest';
import { copyParts, readDockerfile, type Stage } from '../helpers/dockerfile.js';

// No Docker engine here: the Dockerfile's text is checked instead of an image.
const stages = readDockerfile();
const stage = (name: string): Stage => {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`no stage ${name}`);
  return found;
};
const ops = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op).map((i) => i.args);
const names = stages.map((s) => s.name);

describe('Dockerfile', () => {
  it('builds every stage on Node 24 (an external base is node:24-*, anything else is an earlier stage)', () => {
    stages.forEach((s, index) => {
      if (names.slice(0, index).includes(s.from)) return;
      expect(s.from, `stage ${s.name}`).toMatch(/^node:24(-[a-z]+)?$/);
    });
  });

  it('ends with the runtime stage, so a plain `docker build` is the product; the tools stage comes before it', () => {
    expect(stages.at(-1)!.name).toBe('runtime');
    expect(names.indexOf('tools')).toBeGreaterThan(-1);
    expect(names.indexOf('tools')).toBeLessThan(names.indexOf('runtime'));
  });

  it('copies into the runtime stage only package.json, the production dependencies and dist/', () => {
    const runtime = stage('runtime');
    expect(ops(runtime, 'RUN')).toEqual([]);
    expect(ops(runtime, 'ADD')).toEqual([]);
    const copies = ops(runtime, 'COPY').map(copyParts);
    for (const copy of copies) {
      if (copy.from === undefined) {
        expect(
          copy.sources.every((s) => s === 'package.json' || s === 'package-lock.json'),
          `COPY ${copy.sources.join(' ')}`,
        ).toBe(true);
      } else if (copy.sources.every((s) => s.endsWith('/node_modules'))) {
        // The production dependencies: a stage that installs with --omit=dev and nothing else.
        const deps = stage(copy.from);
        const installs = ops(deps, 'RUN');
        expect(installs.length, `stage ${copy.from}`).toBeGreaterThan(0);
        for (const run of installs) expect(run).toMatch(/^npm ci --omit=dev\b/);
        expect(
          ops(deps, 'COPY')
            .flatMap((c) => copyParts(c).sources)
            .sort(),
        ).toEqual(['package-lock.json', 'package.json']);
      } else {
        expect(copy.sources, `COPY --from=${copy.from}`).toEqual(['/app/dist']);
        expect(copy.dest).toBe('./dist');
        // dist/ comes from a stage that compiles src/ only (tsconfig.build.json), never tools/ or bench/.
        const build = stage(copy.from);
        const copied = ops(build, 'COPY').flatMap((c) => copyParts(c).sources);
        expect(copied.filter((s) => /^(tools|bench|test|build)\b/.test(s))).toEqual([]);
        expect(ops(build, 'RUN')).toContain('npm run build');
      }
    }
    expect(copies.some((c) => c.sources.includes('/app/dist'))).toBe(true);
    expect(copies.some((c) => c.sources.some((s) => s.endsWith('/node_modules')))).toBe(true);
  });

  it('runs the runtime and tools stages as a non-root numeric user', () => {
    for (const name of ['runtime', 'tools']) {
      const user = ops(stage(name), 'USER').at(-1);
      expect(user, name).toMatch(/^[1-9]\d*(:\d+)?$/);
    }
    expect(ops(stage('runtime'), 'USER').at(-1)).toMatch(/^1000(:1000)?$/);
  });

  it('starts the product CLI in runtime and the demo sink from build/ in tools', () => {
    expect(ops(stage('runtime'), 'ENTRYPOINT')).toEqual(['["node", "dist/cli/main.js"]']);
    expect(ops(stage('tools'), 'CMD')).toEqual(['["node", "build/tools/cli.js", "demo-sink"]']);
    expect(
      ops(stage('tools'), 'COPY')
        .map(copyParts)
        .filter((c) => c.sources.includes('/app/build')),
    ).toHaveLength(1);
  });
});
