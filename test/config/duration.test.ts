import { describe, it, expect } from 'vitest';
import { formatIsoDuration, parseIsoDuration, parseSeconds } from '../../src/config/duration.js';
import { TIMER_MAX_MS, durationText, millis, parseText } from '../../src/config/parsers.js';

/** The text parser every duration option is made with. */
const duration = (text: string) => parseText(durationText(millis({ max: TIMER_MAX_MS })), text);

const ISO_VALID: ReadonlyArray<[text: string, ms: number]> = [
  ['PT0.3S', 300],
  ['PT0.2S', 200],
  ['PT0.5S', 500],
  ['PT1S', 1000],
  ['PT600S', 600_000],
  ['PT10M', 600_000],
  ['PT1H', 3_600_000],
  ['PT1H30M', 5_400_000],
  ['PT1H30M15S', 5_415_000],
  ['PT1.5H', 5_400_000],
  ['P1D', 86_400_000],
  ['P1DT2H', 93_600_000],
  ['P1W', 7 * 86_400_000],
  ['PT0S', 0],
  ['PT0.001S', 1],
  // Java's Duration.parse accepts lower case too.
  ['pt0.3s', 300],
  ['p1dt2h', 93_600_000],
  // Surrounding blanks, as YAML or an env file may leave them.
  ['  PT2S  ', 2000],
];

const ISO_INVALID: ReadonlyArray<string> = [
  '',
  ' ',
  'P',
  'PT',
  'P1DT',
  '2s',
  '2',
  'PT-1S',
  '-PT1S',
  'abc',
  'PT1',
  'T1S',
  'PT1S2',
  'PT1X',
  'P1S',
  'PT.5S',
];

describe('parseIsoDuration', () => {
  it.each(ISO_VALID)('%j → %d ms', (text, ms) => {
    expect(parseIsoDuration(text)).toBe(ms);
  });

  it.each(ISO_INVALID.map((t) => [t]))('%j → undefined', (text) => {
    expect(parseIsoDuration(text)).toBeUndefined();
  });
});

const SECONDS_VALID: ReadonlyArray<[text: string, ms: number]> = [
  ['60', 60_000],
  ['2', 2000],
  ['0', 0],
  ['0.5', 500],
  ['.5', 500],
  ['1.25', 1250],
  ['0.001', 1],
  [' 3 ', 3000],
];

const SECONDS_INVALID: ReadonlyArray<string> = ['', ' ', '-1', '1e3', 'abc', '1.', '1,5', '+1', 'PT1S', '2s', '0x10', 'Infinity', 'NaN'];

describe('parseSeconds', () => {
  it.each(SECONDS_VALID)('%j → %d ms', (text, ms) => {
    expect(parseSeconds(text)).toBe(ms);
  });

  it.each(SECONDS_INVALID.map((t) => [t]))('%j → undefined', (text) => {
    expect(parseSeconds(text)).toBeUndefined();
  });
});

describe('formatIsoDuration', () => {
  it.each([
    [300, 'PT0.3S'],
    [200, 'PT0.2S'],
    [1, 'PT0.001S'],
    [0, 'PT0S'],
    [2000, 'PT2S'],
    [600_000, 'PT600S'],
  ] as const)('%d ms → %s', (ms, text) => {
    expect(formatIsoDuration(ms)).toBe(text);
  });

  it.each([0, 1, 200, 300, 1250, 60_000, 600_000, 86_400_000])('round-trips %d ms through parseIsoDuration', (ms) => {
    expect(parseIsoDuration(formatIsoDuration(ms))).toBe(ms);
  });
});

describe('duration option parser (seconds or ISO-8601)', () => {
  it.each([
    ['2', 2000],
    ['0.5', 500],
    ['PT0.5S', 500],
    ['PT10M', 600_000],
  ] as const)('%j → %d ms', (text, ms) => {
    expect(duration(text)).toEqual({ value: ms });
  });

  it.each([[''], ['-1'], ['abc'], ['1e3'], ['PT']])('%j → an error that quotes the input', (text) => {
    const result = duration(text);
    expect(result).toHaveProperty('error');
    expect((result as { error: string }).error).toContain(`"${text}"`);
  });
});
