import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/index.js';
import { parseLoadgenArgs, USAGE, type LoadgenOptions } from '../../../tools/loadgen/options.js';
import { runToolsCli } from '../../helpers/cli.js';

const parseAny = (argv: string[], env: NodeJS.ProcessEnv = {}, files: Record<string, string> = {}) =>
  parseLoadgenArgs(argv, env, (path) => {
    if (path in files) return files[path]!;
    throw new Error(`ENOENT: no such file, open '${path}'`);
  });
/** The options themselves (not 'help'). */
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}, files: Record<string, string> = {}): LoadgenOptions => {
  const parsed = parseAny(argv, env, files);
  if (parsed === 'help') throw new Error('help');
  return parsed;
};

/** The issues of the ConfigError the arguments raise, as "path: message". */
function issues(argv: string[], env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseAny(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error(`no error for ${argv.join(' ')}`);
}

describe('loadgen options', () => {
  it('defaults to the article: burst of 50 every second for 100 s, acks -1', () => {
    expect(parse(['--topic', 't'])).toEqual({
      topic: 't',
      brokers: ['127.0.0.1:9092'],
      shape: { kind: 'burst', concurrency: 50, durationS: 100 },
      partitions: undefined,
      acks: -1,
      maxInFlight: 16,
      maxBatch: 500,
      valueBytes: 0,
      sasl: undefined,
      tls: undefined,
      json: false,
    });
    expect(parse(['--topic', 't', '--acks', '-1']).acks).toBe(-1);
    expect(parse(['--topic', 't', '--acks', '1']).acks).toBe(1);
    expect(parse(['--topic', 't', '--acks=0']).acks).toBe(0);
    expect(parse(['--topic', 't'], { KAFKA_BROKERS: 'a:1,b:2' })).toMatchObject({ brokers: ['a:1', 'b:2'] });
    expect(parse(['--topic', 't', '--brokers', 'c:3'], { KAFKA_BROKERS: 'a:1' })).toMatchObject({ brokers: ['c:3'] });
  });

  it('picks the shape from --shape, or from --rate / --steps alone', () => {
    expect(parse(['--topic', 't', '--rate', '200', '--duration', '3']).shape).toEqual({ kind: 'constant', rate: 200, durationS: 3 });
    expect(parse(['--topic', 't', '--steps', '50:30,200:30']).shape).toEqual({
      kind: 'step',
      steps: [
        { rate: 50, durationS: 30 },
        { rate: 200, durationS: 30 },
      ],
    });
    expect(parse(['--topic', 't', '--shape', 'ramp', '--from', '10', '--to', '90', '--duration', '5']).shape).toEqual({
      kind: 'ramp',
      from: 10,
      to: 90,
      durationS: 5,
    });
    expect(parse(['--topic', 't', '--shape', 'constant']).shape).toEqual({ kind: 'constant', rate: 50, durationS: 100 });
    expect(parse(['--topic', 't', '--concurrency', '5', '--duration', '2']).shape).toEqual({ kind: 'burst', concurrency: 5, durationS: 2 });
  });

  it('SASL from flags or the environment (the password needn’t be on the command line); TLS with a CA file', () => {
    const env = { KAFKA_SASL_PASSWORD: 's3cret' };
    expect(parse(['--topic', 't', '--sasl-mechanism', 'SCRAM-SHA-512', '--sasl-username', 'u'], env).sasl).toEqual({
      mechanism: 'scram-sha-512',
      username: 'u',
      password: 's3cret',
    });
    expect(parse(['--topic', 't', '--tls']).tls).toEqual({ ca: undefined });
    expect(parse(['--topic', 't', '--tls-ca', '/ca.pem'], {}, { '/ca.pem': 'PEM' }).tls).toEqual({ ca: 'PEM' });
    expect(parse(['--topic', 't'], { KAFKA_TLS: 'true' }).tls).toEqual({ ca: undefined });
  });

  it.each([
    [['--rate', '5'], '--topic: is required'],
    [['--topic', 't', '--rate', 'fast'], '--rate: must be a number > 0, got "fast"'],
    [['--topic', 't', '--rate', '0'], '--rate: must be a number > 0, got "0"'],
    [['--topic', 't', '--duration', '-1'], '--duration: must be a number > 0, got "-1"'],
    [['--topic', 't', '--concurrency', '2.5'], '--concurrency: must be an integer ≥ 1, got "2.5"'],
    [['--topic', 't', '--partitions', '0'], '--partitions: must be an integer ≥ 1, got "0"'],
    [['--topic', 't', '--max-in-flight', ''], '--max-in-flight: must be an integer ≥ 1, got ""'],
    [['--topic', 't', '--shape', 'sine'], '--shape: must be burst, constant, ramp or step, got "sine"'],
    [['--topic', 't', '--shape', 'step'], '--steps: is required with --shape step'],
    [['--topic', 't', '--steps', '50:30,fast'], '--steps: "fast" is not rate:seconds'],
    [['--topic', 't', '--steps', '0:5'], '--steps: every step has rate 0'],
    [['--topic', 't', '--shape', 'ramp', '--from', '0', '--to', '0'], '--to: a ramp from 0 to 0 sends nothing'],
    [['--topic', 't', '--rate', '5', '--concurrency', '3'], '--concurrency: does not apply to the constant shape'],
    [['--topic', 't', '--steps', '5:1', '--duration', '3'], '--duration: does not apply to the step shape'],
    [['--topic', 't', '--acks', '2'], '--acks: must be -1, 0 or 1, got "2"'],
    [['--topic', 't', '--sasl-mechanism', 'gssapi'], '--sasl-mechanism: must be plain, scram-sha-256 or scram-sha-512'],
    [['--topic', 't', '--sasl-mechanism', 'plain', '--sasl-username', 'u'], '--sasl-mechanism: SASL needs --sasl-username and a password'],
    [['--topic', 't', '--sasl-username', 'u'], '--sasl-mechanism: SASL credentials need a mechanism'],
    [['--topic', 't', '--tls-ca', '/missing.pem'], '--tls-ca: cannot read "/missing.pem"'],
    [['--topic', 't', '--brokers', 'nohost'], '--brokers: must be host:port'],
    [['--topic', 't', '--rat', '5'], "--rat: Unknown option '--rat'"],
  ])('%j → %s', (argv, expected) => {
    expect(issues(argv).join('\n')).toContain(expected);
  });

  it('reports every wrong option at once', () => {
    expect(issues(['--rate', 'x', '--partitions', 'y']).map((i) => i.split(':')[0])).toEqual(['--topic', '--rate', '--partitions']);
  });

  it('--help names every option with its default', () => {
    expect(parseAny(['--help'])).toBe('help');
    for (const flag of [
      '--topic',
      '--brokers',
      '--shape',
      '--concurrency',
      '--duration',
      '--rate',
      '--from',
      '--to',
      '--steps',
      '--partitions',
      '--acks',
      '--max-in-flight',
      '--max-batch',
      '--value-bytes',
      '--sasl-mechanism',
      '--sasl-username',
      '--sasl-password',
      '--tls',
      '--tls-ca',
      '--json',
    ])
      expect(USAGE, flag).toMatch(new RegExp(`^  ${flag}\\b.*(default|required)`, 'm'));
    expect(USAGE).toMatch(/^ {2}-h, --help/m);
  });

  it('the built command exits 2 naming the option, and 0 on --help (build/tools/cli.js)', async () => {
    const bad = await runToolsCli(['loadgen', '--topic', 't', '--rate', 'fast']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--rate: must be a number > 0, got "fast"');
    expect(bad.stdout).toBe('');
    const help = await runToolsCli(['loadgen', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: node build/tools/cli.js loadgen');
  });
});
