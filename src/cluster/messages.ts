import type { MetricsSnapshot } from './metrics-merge.js';

/**
 * What the pool's primary and its members say over the cluster IPC channel (JSON: `null`, not
 * `undefined`). Every message carries `kd` so prom-client's own cluster messages are told apart.
 */
export type ToMember = { kd: 'stop' } | { kd: 'ask'; id: number; what: 'metrics' | 'ready' };

export type FromMember =
  /** The member joined its group and dispatches. */
  { kd: 'started' } | { kd: 'answer'; id: number; metrics?: MetricsSnapshot; notReady?: string | null };

/** The environment variable that tells a forked process which member it is (1…CONSUMERS). */
export const MEMBER_ENV = 'KD_MEMBER';

export function isFromMember(message: unknown): message is FromMember {
  return typeof message === 'object' && message !== null && typeof (message as { kd?: unknown }).kd === 'string';
}

export function isToMember(message: unknown): message is ToMember {
  return isFromMember(message);
}
