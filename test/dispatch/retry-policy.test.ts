import { describe, it, expect } from 'vitest';
import {
  backoffDelayMs,
  isRetriableStatus,
  isSuccessStatus,
  nextRetryDelayMs,
  parseRetryAfter,
  retryDelayMs,
  type FailedAttempt,
  type RetryRules,
} from '../../src/dispatch/retry-policy.js';
import type { BackoffPolicy } from '../../src/config/settings.js';

type Decision = 'success' | 'retry' | 'final';

/** Knative: success < 300 (2xx); retried 5xx, 404, 408, 409, 429; everything else final. */
const STATUSES: ReadonlyArray<[status: number, decision: Decision]> = [
  [100, 'final'],
  [200, 'success'],
  [201, 'success'],
  [202, 'success'],
  [204, 'success'],
  [299, 'success'],
  [300, 'final'],
  [301, 'final'],
  [302, 'final'],
  [304, 'final'],
  [400, 'final'],
  [401, 'final'],
  [403, 'final'],
  [404, 'retry'],
  [405, 'final'],
  [408, 'retry'],
  [409, 'retry'],
  [410, 'final'],
  [413, 'final'],
  [415, 'final'],
  [422, 'final'],
  [429, 'retry'],
  [499, 'final'],
  [500, 'retry'],
  [501, 'retry'],
  [502, 'retry'],
  [503, 'retry'],
  [504, 'retry'],
  [599, 'retry'],
];

describe('retry decision table', () => {
  it.each(STATUSES)('%d → %s', (status, decision) => {
    const actual: Decision = isSuccessStatus(status) ? 'success' : isRetriableStatus(status) ? 'retry' : 'final';
    expect(actual).toBe(decision);
  });

  it('no status is both a success and retriable', () => {
    for (let status = 100; status < 600; status++) {
      expect(isSuccessStatus(status) && isRetriableStatus(status), String(status)).toBe(false);
    }
  });
});

const BACKOFF: ReadonlyArray<[policy: BackoffPolicy, baseMs: number, sequence: number[]]> = [
  // Knative: exponential = delay × 2^n, n = 1 for the first retry.
  ['exponential', 300, [600, 1200, 2400, 4800, 9600]],
  ['exponential', 200, [400, 800, 1600, 3200, 6400]],
  // linear = delay × n.
  ['linear', 300, [300, 600, 900, 1200, 1500]],
  ['linear', 200, [200, 400, 600, 800, 1000]],
  // ASK's retry-interval: the same wait every time.
  ['fixed', 300, [300, 300, 300, 300, 300]],
  ['fixed', 200, [200, 200, 200, 200, 200]],
  ['fixed', 2000, [2000, 2000, 2000, 2000, 2000]],
  ['exponential', 0, [0, 0, 0, 0, 0]],
];

describe('backoff sequences, retries n = 1..5', () => {
  it.each(BACKOFF)('%s from %d ms → %j', (policy, baseMs, sequence) => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(policy, baseMs, n))).toEqual(sequence);
  });

  it.each(BACKOFF)('retryDelayMs without Retry-After equals the backoff (%s, %d ms)', (policy, baseMs, sequence) => {
    expect([1, 2, 3, 4, 5].map((retry) => retryDelayMs({ policy, baseMs, retry }))).toEqual(sequence);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2015, 9, 21, 7, 28, 0); // Wed, 21 Oct 2015 07:28:00 GMT

  it.each([
    ['0', 0],
    ['1', 1000],
    ['120', 120_000],
    [' 5 ', 5000],
    ['Wed, 21 Oct 2015 07:28:30 GMT', 30_000],
    ['Wed, 21 Oct 2015 08:28:00 GMT', 3_600_000],
    ['Wed, 21 Oct 2015 07:28:00 GMT', 0],
    // A date in the past: retry now.
    ['Wed, 21 Oct 2015 07:27:00 GMT', 0],
    ['Tue, 20 Oct 2015 07:28:00 GMT', 0],
  ] as const)('%j → %d ms', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });

  it('takes the first value of a repeated header', () => {
    expect(parseRetryAfter(['3', '10'], now)).toBe(3000);
    expect(parseRetryAfter(['Wed, 21 Oct 2015 07:28:10 GMT'], now)).toBe(10_000);
  });

  // RFC 9110 §5.6.7: recipients must also accept the two obsolete formats, both in GMT.
  it('accepts the obsolete RFC 850 date format', () => {
    expect(parseRetryAfter('Wednesday, 21-Oct-15 07:28:30 GMT', now)).toBe(30_000);
  });

  it('reads an asctime date as GMT whatever the local time zone', () => {
    const saved = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      expect(parseRetryAfter('Wed Oct 21 07:28:30 2015', now)).toBe(30_000);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('absent → undefined', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter([], now)).toBeUndefined();
  });

  // RFC 9110 §10.2.3: Retry-After = HTTP-date / delay-seconds. Anything else is ignored, whatever
  // JavaScript's lenient Date.parse makes of it.
  it.each([[''], ['soon'], ['abc'], ['next tuesday'], ['1e3'], ['5s'], ['-1'], ['+5'], ['1.5'], ['abc 2030'], ['12 13']])(
    'garbage %j → undefined',
    (value) => {
      expect(parseRetryAfter(value, now)).toBeUndefined();
    },
  );
});

describe('retryDelayMs: max(backoff, min(Retry-After, cap))', () => {
  it.each([
    ['Retry-After longer than the backoff wins', { retryAfterMs: 5000 }, 5000],
    ['Retry-After shorter than the backoff: the backoff wins', { retryAfterMs: 100 }, 600],
    ['Retry-After 0: the backoff', { retryAfterMs: 0 }, 600],
    ['Retry-After capped', { retryAfterMs: 5000, maxRetryAfterMs: 2000 }, 2000],
    ['cap below the backoff: the backoff still', { retryAfterMs: 5000, maxRetryAfterMs: 100 }, 600],
    ['cap 0: the backoff', { retryAfterMs: 5000, maxRetryAfterMs: 0 }, 600],
    ['Retry-After under the cap: as asked', { retryAfterMs: 1500, maxRetryAfterMs: 60_000 }, 1500],
    ['no Retry-After: the backoff, whatever the cap', { retryAfterMs: undefined, maxRetryAfterMs: 10 }, 600],
  ] as const)('%s', (_name, extra, expected) => {
    // exponential from 300 ms, first retry → 600 ms
    expect(retryDelayMs({ policy: 'exponential', baseMs: 300, retry: 1, ...extra })).toBe(expected);
  });

  it('a later retry with a longer backoff outgrows the Retry-After', () => {
    expect(retryDelayMs({ policy: 'linear', baseMs: 300, retry: 5, retryAfterMs: 1000 })).toBe(1500);
    expect(retryDelayMs({ policy: 'fixed', baseMs: 2000, retry: 3, retryAfterMs: 3000 })).toBe(3000);
  });

  it('works with a parsed header', () => {
    const now = Date.UTC(2024, 0, 1);
    const retryAfterMs = parseRetryAfter(new Date(now + 7000).toUTCString(), now);
    expect(retryDelayMs({ policy: 'exponential', baseMs: 200, retry: 1, retryAfterMs, maxRetryAfterMs: 60_000 })).toBe(7000);
  });
});

describe('nextRetryDelayMs: the rules of every retry loop', () => {
  const SINK: RetryRules = { policy: 'exponential', baseMs: 100, maxRetryAfterMs: 3000 };
  const BLOCK: RetryRules = { ...SINK, maxDelayMs: 1000, retryFinal: true };
  const failed = (extra: Partial<FailedAttempt> = {}): FailedAttempt => ({ retry: 1, retriesLeft: 3, retriable: true, ...extra });

  it.each<[string, RetryRules, Partial<FailedAttempt>, number | undefined]>([
    ['a retriable failure: the backoff', SINK, {}, 200],
    ['the third retry', SINK, { retry: 3 }, 800],
    ['no retries left: none', SINK, { retriesLeft: 0 }, undefined],
    ['a final failure: none', SINK, { retriable: false }, undefined],
    ['a record past its maximum age: none', SINK, { expired: true }, undefined],
    ['Retry-After longer than the backoff', SINK, { retryAfterMs: 2500 }, 2500],
    ['Retry-After capped by maxRetryAfterMs', SINK, { retryAfterMs: 60_000 }, 3000],
    ['block: a final failure is retried', BLOCK, { retriable: false, retriesLeft: Infinity }, 200],
    ['block: the wait is capped by maxDelayMs', BLOCK, { retry: 10, retriesLeft: Infinity }, 1000],
    ['block: Retry-After capped, then capped by maxDelayMs', BLOCK, { retryAfterMs: 2500, retriesLeft: Infinity }, 1000],
    ['block: a stop is still a stop', BLOCK, { retriesLeft: 0 }, undefined],
  ])('%s', (_name, rules, extra, expected) => {
    expect(nextRetryDelayMs(rules, failed(extra))).toBe(expected);
  });

  it('jitter applies to the backoff, then the cap', () => {
    expect(nextRetryDelayMs({ ...SINK, jitter: 0.5 }, failed(), () => 0)).toBe(100);
    expect(nextRetryDelayMs({ ...BLOCK, jitter: 0.5 }, failed({ retry: 4 }), () => 0.999)).toBe(1000);
  });

  it('exponential from 0 ms stays 0 however many retries (no Infinity × 0)', () => {
    expect(nextRetryDelayMs({ ...BLOCK, baseMs: 0 }, failed({ retry: 5000, retriesLeft: Infinity }))).toBe(0);
    expect(backoffDelayMs('exponential', 0, 2000)).toBe(0);
  });
});
