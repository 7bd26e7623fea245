import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { TIMER_MAX_MS, maxMillisOf } from '../../src/config/parsers.js';
import { OPTIONS, SCHEMA } from '../../src/config/schema.js';
import { text } from '../helpers/arbitraries.js';

// Properties of the configuration loader over generated environments: whatever a user writes, the
// answer is settings or a ConfigError whose every issue names an input, never a crash, never a
// secret echoed; integers are decimal only; every duration accepted fits a timer.

const REQUIRED = { KAFKA_BROKERS: 'broker:9092', KAFKA_TOPICS: 'orders', K_SINK: 'http://sink.example/' };
/** Every variable a setting reads, except the ones that name files (their contents are another test's). */
const ENV_NAMES = OPTIONS.filter((o) => !/FILE|CERT|KEY|_CA|DIR/.test(o.env.join())).flatMap((o) => o.env);
const durationSettings = Object.entries(SCHEMA).filter(([, def]) => maxMillisOf(def.value) !== undefined);
const durationEnvs = OPTIONS.filter((o) => durationSettings.some(([key]) => key === o.key)).map((o) => ({ env: o.env[0]!, key: o.key }));

/** What users type: numbers in every notation, durations, booleans, lists, URLs, and hostile text. */
const envValue = fc.oneof(
  fc.nat({ max: 2 ** 40 }).map(String),
  fc.constantFrom('0x10', '1e3', '+5', '-1', '010.0', '0', '.5', 'Infinity', 'NaN', ' 7 ', 'PT99999999H', 'P1D', 'PT0.3S'),
  fc.constantFrom('true', 'false', 'yes', 'ordered', 'key', 'unordered', 'exponential', 'skip', 'block', '[]', '{"a":{"b":1}}'),
  fc.constantFrom('host', 'host:99999', 'a:1,b:2', 'bad topic', 'http://user:pw@x/', 'ftp://x/', ''),
  text(30),
);

describe('resolveConfig over generated environments', () => {
  it('returns settings or a ConfigError naming the variables at fault; never another error', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...ENV_NAMES), envValue, { maxKeys: 6 }), (extra) => {
        const env = { ...REQUIRED, ...extra };
        try {
          resolveConfig({ env });
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          for (const issue of (error as ConfigError).issues) {
            // Each issue names a variable that was set, or (for a combination) a setting by name.
            const named = Object.keys(env).some((name) => issue.path === `env.${name}` || issue.path.includes(name));
            expect(named || issue.path in SCHEMA, `issue path ${issue.path}`).toBe(true);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('never prints a secret it was given, in any issue', () => {
    const secret = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 12, maxLength: 20 });
    fc.assert(
      fc.property(secret, envValue, (password, broken) => {
        const env = {
          ...REQUIRED,
          KAFKA_SASL_PASSWORD: password,
          KAFKA_SASL_USERNAME: 'u',
          MAX_IN_FLIGHT: broken,
          K_SINK: `http://u:${password}@x y/`,
        };
        try {
          resolveConfig({ env });
        } catch (error) {
          expect((error as Error).message).not.toContain(password);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('reads integers in decimal digits only: any other notation is refused naming the variable', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.constantFrom(
          (n: number) => `0x${n.toString(16)}`,
          (n: number) => `${n}e0`,
          (n: number) => `+${n}`,
          (n: number) => `${n}.0`,
          (n: number) => `0o${n.toString(8)}`,
        ),
        (n, notation) => {
          expect(resolveConfig({ env: { ...REQUIRED, MAX_IN_FLIGHT: String(n) } }).settings.maxInFlight).toBe(n);
          expect(() => resolveConfig({ env: { ...REQUIRED, MAX_IN_FLIGHT: notation(n) } })).toThrow(/env\.MAX_IN_FLIGHT: /);
        },
      ),
    );
  });

  it('accepts a duration within its bound in seconds and in ISO-8601, to the millisecond, and refuses one above it', () => {
    fc.assert(
      fc.property(fc.constantFrom(...durationEnvs), fc.double({ min: 0, max: 1, noNaN: true }), ({ env: name, key }, fraction) => {
        const max = maxMillisOf(SCHEMA[key].value)!;
        const ms = Math.max(1, Math.floor(fraction * max));
        for (const written of [String(ms / 1000), `PT${ms / 1000}S`]) {
          const settings = resolveConfig({ env: { ...REQUIRED, [name]: written } }).settings as unknown as Record<string, number>;
          expect(settings[key]).toBe(ms);
          expect(settings[key]).toBeLessThanOrEqual(TIMER_MAX_MS);
        }
        expect(() => resolveConfig({ env: { ...REQUIRED, [name]: String((max + 1000) / 1000) } })).toThrow(
          new RegExp(`env\\.${name}: must be at most`),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('lets a flag win over the environment, and the environment over the default', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 100_000 }), (fromEnv, fromFlag) => {
        const envOnly = resolveConfig({ env: { ...REQUIRED, MAX_IN_FLIGHT: String(fromEnv) } });
        expect(envOnly.settings.maxInFlight).toBe(fromEnv);
        expect(envOnly.origins.maxInFlight).toBe('env.MAX_IN_FLIGHT');
        const both = resolveConfig({
          env: { ...REQUIRED, MAX_IN_FLIGHT: String(fromEnv) },
          flags: {
            name: 'flags',
            values: { maxInFlight: fromFlag },
            origins: { maxInFlight: '--max-in-flight' },
            issues: [],
            warnings: [],
          },
        });
        expect(both.settings.maxInFlight).toBe(fromFlag);
      }),
      { numRuns: 100 },
    );
  });
});
