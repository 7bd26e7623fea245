/** What the pool knows of one member slot when /readyz is asked. */
export type MemberState =
  | { member: number; state: 'starting' | 'restarting' }
  /** Running: `notReady` is the member's own /readyz reason (undefined: ready), or why it did not answer. */
  | { member: number; state: 'running'; notReady: string | undefined };

/**
 * The pod's /readyz with CONSUMERS > 1: ready only when every member is, so that a pod never takes
 * traffic-bearing partitions it cannot serve and a rollout waits for all of them. The reason names
 * each member that is not, with its own reason.
 */
export function poolNotReadyReason(draining: boolean, members: readonly MemberState[]): string | undefined {
  if (draining) return 'draining';
  const reasons: string[] = [];
  for (const m of members) {
    if (m.state === 'starting') reasons.push(`member ${m.member}: starting`);
    else if (m.state === 'restarting') reasons.push(`member ${m.member}: restarting after it died`);
    else if (m.state === 'running' && m.notReady !== undefined) reasons.push(`member ${m.member}: ${m.notReady}`);
  }
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}
