import { describe, expect, it } from 'vitest';
import { RestartPolicy } from '../../src/cluster/restart-policy.js';

describe('RestartPolicy', () => {
  const options = { maxRestarts: 3, windowMs: 60_000, initialDelayMs: 500, maxDelayMs: 1500 };

  it('restarts after a delay that doubles with each death in the window, up to its ceiling', () => {
    const policy = new RestartPolicy(options);
    expect(policy.nextRestartDelay(0)).toBe(500);
    expect(policy.nextRestartDelay(1000)).toBe(1000);
    expect(policy.nextRestartDelay(2000)).toBe(1500);
  });

  it('gives up on a member that dies more than maxRestarts times within the window', () => {
    const policy = new RestartPolicy(options);
    for (const at of [0, 10_000, 20_000]) expect(policy.nextRestartDelay(at)).toBeDefined();
    expect(policy.nextRestartDelay(30_000)).toBeUndefined();
    expect(policy.recent(30_000)).toBe(3);
  });

  it('forgets deaths older than the window: a member that dies now and then is restarted for ever', () => {
    const policy = new RestartPolicy(options);
    for (let hour = 0; hour < 10; hour++) expect(policy.nextRestartDelay(hour * 3_600_000)).toBe(500);
    // Three in the window again, the oldest leaves it at 60 s after it: then a fourth is allowed.
    const base = 100 * 3_600_000;
    for (const at of [base, base + 1, base + 2]) expect(policy.nextRestartDelay(at)).toBeDefined();
    expect(policy.nextRestartDelay(base + 59_999)).toBeUndefined();
    expect(policy.nextRestartDelay(base + 60_001)).toBeDefined();
  });
});
