import { describe, expect, it } from 'vitest';
import { OPTIONS, optionFor } from '../../src/config/schema.js';
import { runCli } from '../helpers/cli.js';

/** The line of a help text that starts the entry of `flag` (`  --retry-count N  RETRY_COUNT  10 …`). */
const lineOf = (text: string, flag: string) => text.split('\n').find((l) => new RegExp(`^  (-\\w, )?${flag}( |$)`).test(l));

describe.each(['run', 'validate'])('kafka-dispatch %s --help', (command) => {
  it.each(['--help', '-h'])('%s prints the usage and every option with its environment variable and default, exit 0', async (flag) => {
    // No configuration at all: help needs none.
    const { code, stdout, stderr } = await runCli([command, flag]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^usage: kafka-dispatch ${command} `));
    expect(lineOf(stdout, '--kafkasource')).toContain('-f, --kafkasource FILE');
    for (const option of OPTIONS) {
      const line = lineOf(stdout, `--${option.flag}`);
      expect(line, `--${option.flag}`).toBeDefined();
      expect(line).toContain(`--${option.flag} ${option.metavar}`);
      expect(line).toContain(option.env.join(' | '));
      expect(line!.trimEnd().endsWith(option.defaultText), `default of --${option.flag}: ${line}`).toBe(true);
    }
    expect(lineOf(stdout, '--request-timeout')).toMatch(/--request-timeout DURATION\s+REQUEST_TIMEOUT\s+600 s \(Knative\)$/);
    expect(lineOf(stdout, '--sink')).toMatch(/--sink URL\s+K_SINK \| SINK_URI\s+\(required\)$/);
    expect(stdout.replace(/\s+/g, ' ')).toContain('KafkaSource: spec.delivery.timeout, annotation k8s.aliyun.com/req-timeout.');
  });

  it('help wins over invalid values; an unknown flag still exits 2, pointing at --help', async () => {
    expect((await runCli([command, '--retry-count', 'many', '--help'])).code).toBe(0);
    const unknown = await runCli([command, '--no-such-flag', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--no-such-flag'");
    expect(unknown.stderr).toContain(`kafka-dispatch ${command} --help`);
  });
});

describe('kafka-dispatch validate --help', () => {
  it('lists --json', async () => {
    const { stdout } = await runCli(['validate', '--help']);
    expect(lineOf(stdout, '--json')).toBeDefined();
  });
});

describe('kafka-dispatch lag --help', () => {
  it.each(['--help', '-h'])('%s prints the usage and each flag with its environment variable and default, exit 0', async (flag) => {
    const { code, stdout, stderr } = await runCli(['lag', flag]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^usage: kafka-dispatch lag /);
    expect(lineOf(stdout, '--group')).toMatch(/-g, --group NAME\s+KAFKA_GROUP\s+\(required\)$/);
    expect(lineOf(stdout, '--topic')).toContain('KAFKA_TOPICS');
    expect(lineOf(stdout, '--brokers')).toMatch(/KAFKA_BROKERS\s+\(required\)$/);
    expect(lineOf(stdout, '--initial-offset')).toMatch(new RegExp(`KAFKA_INITIAL_OFFSET\\s+${optionFor('initialOffset').defaultText}$`));
    for (const own of ['--json', '--watch', '--no-lag-seconds']) expect(lineOf(stdout, own), own).toBeDefined();
  });
});

describe('kafka-dispatch --help', () => {
  it('still lists the commands, exit 0', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^usage: kafka-dispatch <command>/);
    expect(stdout).toContain('validate');
  });
});
