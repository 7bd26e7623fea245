/**
 * A deterministic synthetic timeline (a load burst that the autoscaler catches up with), for the
 * chart's example output and tests until the simulator produces real ones.
 */
import type { Timeline, TimelineRow } from './timeline.js';

export interface SyntheticOptions {
  seconds?: number;
  /** Records per second outside the burst. */
  baseRate?: number;
  /** Records per second during the burst. */
  burstRate?: number;
  burstStart?: number;
  burstEnd?: number;
  /** Records one pod delivers per second. */
  podThroughput?: number;
  /** Concurrency one pod accepts. */
  podConcurrency?: number;
  title?: string;
}

export function syntheticTimeline(options: SyntheticOptions = {}): Timeline {
  const seconds = options.seconds ?? 120;
  const baseRate = options.baseRate ?? 40;
  const burstRate = options.burstRate ?? 400;
  const burstStart = options.burstStart ?? 20;
  const burstEnd = options.burstEnd ?? 50;
  const podThroughput = options.podThroughput ?? 60;
  const podConcurrency = options.podConcurrency ?? 10;
  const rows: TimelineRow[] = [];
  let lag = 0;
  let podsReady = 1;
  let podsDesired = 1;
  const pending: number[] = [];
  for (let t = 0; t < seconds; t++) {
    const produced = t >= burstStart && t < burstEnd ? burstRate : baseRate;
    const capacity = podsReady * podThroughput;
    const delivered = Math.min(lag + produced, capacity);
    lag = lag + produced - delivered;
    const demand = Math.round((produced + lag / 10) / 6);
    const panic = demand > 2 * podsReady * podConcurrency;
    const wanted = Math.max(1, Math.min(12, Math.ceil(demand / podConcurrency)));
    podsDesired = panic ? Math.max(podsDesired, wanted) : t % 6 === 0 ? wanted : podsDesired;
    // Pods take 8 s to become ready.
    pending.push(podsDesired);
    const readyTarget = pending.length > 8 ? pending[pending.length - 9]! : 1;
    podsReady = readyTarget > podsReady ? podsReady + 1 : readyTarget;
    const inFlightLimit = podsReady * podConcurrency;
    rows.push({
      t,
      produced,
      delivered,
      lag,
      lagSeconds: Math.round((lag / Math.max(1, capacity)) * 10) / 10,
      inFlight: Math.min(inFlightLimit, demand),
      inFlightLimit,
      demand,
      podsReady,
      podsDesired,
      panic,
      rejected503: demand > inFlightLimit ? Math.round((demand - inFlightLimit) / 2) : 0,
      deadLettered: t === 35 ? 2 : 0,
      skipped: 0,
    });
  }
  return {
    title: options.title ?? `Synthetic burst: ${baseRate}→${burstRate} rec/s for ${burstEnd - burstStart} s`,
    rows,
    notes: [
      'Synthetic data (tools/chart/synthetic.ts): pods become ready 8 s after they are wanted; each pod delivers ' +
        `${podThroughput} records/s with a concurrency of ${podConcurrency}.`,
    ],
  };
}
