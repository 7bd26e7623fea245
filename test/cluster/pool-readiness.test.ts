import { describe, expect, it } from 'vitest';
import { poolNotReadyReason } from '../../src/cluster/pool-readiness.js';

describe('poolNotReadyReason (the pod /readyz with CONSUMERS > 1)', () => {
  it('is ready only when every member is running and ready', () => {
    expect(
      poolNotReadyReason(false, [
        { member: 1, state: 'running', notReady: undefined },
        { member: 2, state: 'running', notReady: undefined },
      ]),
    ).toBeUndefined();
  });

  it('names each member that is not ready, with its own reason', () => {
    expect(
      poolNotReadyReason(false, [
        { member: 1, state: 'running', notReady: undefined },
        { member: 2, state: 'running', notReady: 'brokers unreachable (timeout)' },
        { member: 3, state: 'starting' },
        { member: 4, state: 'restarting' },
      ]),
    ).toBe('member 2: brokers unreachable (timeout); member 3: starting; member 4: restarting after it died');
  });

  it('says draining once the stop began, whatever the members say', () => {
    expect(poolNotReadyReason(true, [{ member: 1, state: 'running', notReady: undefined }])).toBe('draining');
  });
});
