import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { SDK_PACKAGES } from '../../src/telemetry/tracing.js';
import { ROOT } from '../helpers/cli.js';

/**
 * Loads the product (dist/: the library entry and the `run` command) in a fresh node with a module
 * resolve hook, calls startTracingFromEnv with `env`, and returns every @opentelemetry package and
 * product module that was resolved.
 */
function modulesLoaded(env: Record<string, string>): string[] {
  const dist = pathToFileURL(join(ROOT, 'dist')).href;
  const script = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({
      resolve(specifier, context, next) {
        const result = next(specifier, context);
        const m = /node_modules\\/(@opentelemetry\\/[^/]+)\\//.exec(result.url);
        if (m) seen.add(m[1]);
        if (result.url.startsWith(${JSON.stringify(dist)})) seen.add('dist' + result.url.slice(${dist.length}));
        return result;
      },
    });
    await import(${JSON.stringify(`${dist}/index.js`)});
    await import(${JSON.stringify(`${dist}/cli/run.js`)});
    const { startTracingFromEnv } = await import(${JSON.stringify(`${dist}/telemetry/tracing.js`)});
    const stop = await startTracingFromEnv(${JSON.stringify(env)}, { info() {}, warn(o, m) { console.error(m); } });
    await stop();
    console.log(JSON.stringify([...seen].sort()));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    // The SDK reads process.env; an endpoint nobody listens on is never contacted (no span is made).
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as string[];
}

beforeAll(() => {
  // `npm test` builds first (pretest); a lone run of this file builds when dist/ is missing.
  if (!existsSync(join(ROOT, 'dist/telemetry/otlp.js'))) execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
}, 120_000);

describe('the OpenTelemetry SDK is loaded only when tracing is asked for', () => {
  it('without OTEL_* variables the product loads @opentelemetry/api and nothing of the SDK', () => {
    const loaded = modulesLoaded({});
    expect(loaded).toContain('dist/telemetry/tracing.js');
    expect(loaded.filter((m) => m.startsWith('@opentelemetry/'))).toEqual(['@opentelemetry/api']);
    expect(loaded).not.toContain('dist/telemetry/otlp.js');
  });

  it('with OTEL_TRACES_EXPORTER=otlp the SDK packages are loaded', () => {
    const loaded = modulesLoaded({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    expect(loaded).toContain('dist/telemetry/otlp.js');
    for (const name of SDK_PACKAGES) expect(loaded, name).toContain(name);
  });
});
