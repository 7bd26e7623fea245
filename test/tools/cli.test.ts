import { describe, expect, it } from 'vitest';
import { runCli, runToolsCli } from '../helpers/cli.js';

// The developer tools' entry, build/tools/cli.js (npm start, npm run demo-sink, npm run kafka).
describe('tools CLI', () => {
  it('lists its commands on help (exit 0) and without a command (exit 2)', async () => {
    for (const args of [['help'], ['--help'], ['-h']]) {
      const { code, stdout } = await runToolsCli(args);
      expect(code, args.join(' ')).toBe(0);
      for (const command of ['demo', 'demo-sink', 'kafka', 'loadgen']) expect(stdout).toMatch(new RegExp(`^  ${command}\\s`, 'm'));
    }
    expect((await runToolsCli([])).code).toBe(2);
  });

  it('exits 2 on an unknown command, naming it', async () => {
    const { code, stderr } = await runToolsCli(['run']);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command "run"');
  });

  it.each([
    [
      'demo',
      ['--rate', '--duration', '--partitions', '--latency-ms', '--concurrency', '--ordering', '--keep-broker', '--help'],
      ['20', '5', '3', '50', 'ordered'],
    ],
    [
      'demo-sink',
      ['--port', '--host', '--latency-ms', '--latency-jitter-ms', '--concurrency', '--queue-depth', '--help'],
      ['8080', '127.0.0.1'],
    ],
    [
      'kafka',
      ['start', 'stop', 'status', 'logs', '--port', '--cache-dir', '--lines', '--follow', '--help'],
      ['9092', '100', '~/.cache/kafka-dispatch'],
    ],
    [
      'loadgen',
      ['--topic', '--brokers', '--shape', '--concurrency', '--duration', '--rate', '--steps', '--partitions', '--json', '--help'],
      ['burst', '50', '100', '127.0.0.1:9092', '-1'],
    ],
  ])('%s --help and -h: exit 0, every flag with its default', async (command, flags, defaults) => {
    for (const help of ['--help', '-h']) {
      const { code, stdout, stderr } = await runToolsCli([command, help]);
      expect(code, stderr).toBe(0);
      for (const flag of flags) expect(stdout, `${command} ${help}: ${flag}`).toContain(flag);
      for (const value of defaults)
        expect(stdout, `${command} ${help}: default ${value}`).toMatch(
          new RegExp(`default[^\\n]*${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
        );
    }
  });

  it('is not the product: kafka-dispatch itself knows no demo, demo-sink or kafka command', async () => {
    for (const command of ['demo', 'demo-sink', 'kafka', 'loadgen']) {
      const { code, stderr } = await runCli([command]);
      expect(code, command).toBe(2);
      expect(stderr).toContain(`unknown command "${command}"`);
    }
    const { stdout } = await runCli(['--help']);
    expect(stdout).not.toMatch(/^ {2}(demo|demo-sink|kafka|loadgen)\s/m);
  });
});
