import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
/** The developer tools' CLI (demo, demo-sink, kafka), built by `npm run build:tools`. */
export const TOOLS_CLI = fileURLToPath(new URL('../../build/tools/cli.js', import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

/** Runs the built CLI (`npm test` builds it first) with its own environment. */
export function startCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  command: string[] = [process.execPath, CLI],
): CliProcess {
  const child = spawn(command[0]!, [...command.slice(1), ...args], {
    cwd: ROOT,
    env: { ...cleanEnv(), LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  return { child, stdout: () => out, stderr: () => err, exited };
}

export async function runCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000, command?: string[]) {
  const cli = startCli(args, env, command);
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), timeoutMs);
  const code = await cli.exited;
  clearTimeout(timer);
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** Runs the built tools CLI (`npm test` builds it first): `node build/tools/cli.js ...args`. */
export function startToolsCli(args: string[], env: Record<string, string | undefined> = {}): CliProcess {
  return startCli(args, env, [process.execPath, TOOLS_CLI]);
}

export function runToolsCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000) {
  return runCli(args, env, timeoutMs, [process.execPath, TOOLS_CLI]);
}

/** The environment without anything that configures the dispatcher, so each test says what it sets. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (
      /^(KAFKA_|K_SINK|K_CE_OVERRIDES|K_CA_CERTS|SINK_|REQUEST_TIMEOUT|RETRY_|BACKOFF_|ORDERING|MAX_IN_FLIGHT|COMMIT_INTERVAL|SHUTDOWN_GRACE|METRICS_PORT|DEMO_|LOG_LEVEL)/.test(
        name,
      )
    )
      delete env[name];
  }
  return env;
}
