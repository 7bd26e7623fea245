import type { Settings } from '../config/settings.js';
import { AdaptiveConcurrency } from '../dispatch/adaptive-concurrency.js';
import { DemandLimit } from '../dispatch/demand-limit.js';
import type { DispatchListener } from '../dispatch/outcome.js';
import type { DemandEstimator } from '../telemetry/demand.js';
import type { Logger } from '../telemetry/logger.js';

/** Where a learned limit starts: a few requests, then it grows as the sink answers. */
const INITIAL_LEARNED_LIMIT = 4;

/** What the limit moves: the scheduler's overall cap, and the gauge that reports it. */
export interface LimitTarget {
  readonly running: number;
  setMaxInFlight(limit: number): void;
}

export interface InFlightLimit {
  /** Listens to the attempts, for the learned limits; undefined with CONCURRENCY_LIMIT=fixed. */
  readonly listener: DispatchListener | undefined;
  /** From here on the limit moves `target` and the gauge; returns what stops it. */
  attach(target: LimitTarget, gauge: { set(value: number): void }): () => void;
  /** After each lag read: the group's lag and the share of the partitions this member owns. */
  lagRead(lag: number, share: number): void;
}

/**
 * The in-flight limit of CONCURRENCY_LIMIT: MAX_IN_FLIGHT as it is (`fixed`), learned from the
 * sink's answers (`adaptive`), or sized to the demand (`demand`), between MIN_IN_FLIGHT and
 * MAX_IN_FLIGHT. Made before the scheduler (its listener is one of the dispatcher's), attached to it
 * once the scheduler exists.
 */
export function inFlightLimit(settings: Settings, demand: DemandEstimator, logger: Logger): InFlightLimit {
  let target: LimitTarget | undefined;
  let gauge: { set(value: number): void } | undefined;
  const apply = (limit: number) => {
    target?.setMaxInFlight(limit);
    gauge?.set(limit);
  };
  const bounds = {
    min: settings.minInFlight,
    max: settings.maxInFlight,
    initial: Math.min(settings.maxInFlight, Math.max(settings.minInFlight, INITIAL_LEARNED_LIMIT)),
  };

  if (settings.concurrencyLimit === 'adaptive') {
    const adaptive = new AdaptiveConcurrency({
      ...bounds,
      inFlight: () => target?.running ?? 0,
      demand: () => demand.concurrency,
      onChange: apply,
    });
    return {
      listener: adaptive,
      attach: (t, g) => {
        [target, gauge] = [t, g];
        apply(adaptive.limit);
        return () => {};
      },
      lagRead: () => {},
    };
  }
  if (settings.concurrencyLimit === 'demand') {
    const limit = new DemandLimit({
      ...bounds,
      arrivalRate: () => demand.arrivalRate,
      latencySeconds: () => demand.latencySeconds,
      recentLatencySeconds: () => demand.recentLatencySeconds,
      inFlight: () => target?.running ?? 0,
      drainSeconds: settings.backlogDrainMs / 1000,
      drainShare: settings.backlogDrainShare,
      batchRecords: settings.batchMaxRecords,
      onChange: (next, previous) => {
        apply(next);
        if (next > previous * 2 || next * 2 < previous)
          logger.info({ limit: next, previous, demand: demand.concurrency }, 'in-flight limit follows the demand');
      },
    });
    return {
      listener: limit,
      attach: (t, g) => {
        [target, gauge] = [t, g];
        apply(limit.limit);
        const timer = setInterval(() => limit.update(), 1000);
        timer.unref();
        return () => clearInterval(timer);
      },
      lagRead: (lag, share) => limit.lagRead(lag, share),
    };
  }
  return {
    listener: undefined,
    attach: (_t, g) => {
      g.set(settings.maxInFlight);
      return () => {};
    },
    lagRead: () => {},
  };
}
