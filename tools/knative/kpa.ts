/**
 * The Knative Pod Autoscaler (KPA), pure: no timers, no I/O. Time comes in as milliseconds.
 *
 * Read in `knative.dev/serving` (v0.42.x line; file names are that repository's):
 * - `pkg/autoscaler/config/config.go` (`defaultConfig`): the defaults in {@link KPA_DEFAULTS};
 * - `pkg/reconciler/autoscaling/resources/target.go` (`ResolveMetricTarget`): target and total;
 * - `pkg/autoscaler/metrics/collector.go` + `pkg/autoscaler/aggregation/bucketing.go`: the stable
 *   and panic windows ({@link WindowedAverage});
 * - `pkg/autoscaler/scaling/autoscaler.go` (`Scale`): {@link decide};
 * - `pkg/reconciler/autoscaling/kpa/scaler.go` (`applyBounds`, `handleScaleToZero`): min/max scale
 *   and the way to zero, in {@link PodAutoscaler.scale}.
 */
import { WindowedAverage } from './aggregation.js';

export interface KpaConfig {
  /** `containerConcurrency` of the revision; 0 = unlimited (the target then uses the default below). */
  containerConcurrency: number;
  /** `container-concurrency-target-percentage` 70 %, as a fraction. */
  targetUtilization?: number;
  /** `container-concurrency-target-default`, the total when containerConcurrency is 0. */
  containerConcurrencyTargetDefault?: number;
  /** `autoscaling.knative.dev/target`, when set (capped by containerConcurrency). */
  target?: number;
  /** `panic-threshold-percentage`. */
  panicThresholdPercentage?: number;
  /** `panic-window-percentage` (of the stable window). */
  panicWindowPercentage?: number;
  /** `stable-window`. */
  stableWindowMs?: number;
  /** `max-scale-up-rate`. */
  maxScaleUpRate?: number;
  /** `max-scale-down-rate`. */
  maxScaleDownRate?: number;
  /** `scale-to-zero-grace-period`. */
  scaleToZeroGracePeriodMs?: number;
  /** `enable-scale-to-zero`. */
  enableScaleToZero?: boolean;
  /** `target-burst-capacity`; 0 = activator only at zero, -1 = activator always in the path. */
  targetBurstCapacity?: number;
  /** `autoscaling.knative.dev/min-scale`. */
  minScale?: number;
  /** `autoscaling.knative.dev/max-scale`; 0 = unbounded. */
  maxScale?: number;
}

export type ResolvedKpaConfig = Required<Omit<KpaConfig, 'target'>> & { target?: number };

/** Knative's defaults (`pkg/autoscaler/config/config.go`, `defaultConfig`). */
export const KPA_DEFAULTS = {
  targetUtilization: 0.7,
  containerConcurrencyTargetDefault: 100,
  panicThresholdPercentage: 200,
  panicWindowPercentage: 10,
  stableWindowMs: 60_000,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  scaleToZeroGracePeriodMs: 30_000,
  enableScaleToZero: true,
  targetBurstCapacity: 200,
  minScale: 0,
  maxScale: 0,
} as const;

export function resolveKpaConfig(config: KpaConfig): ResolvedKpaConfig {
  const defined = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
  const c = { ...KPA_DEFAULTS, ...defined } as ResolvedKpaConfig;
  if (!(c.containerConcurrency >= 0)) throw new RangeError('containerConcurrency must be >= 0');
  if (!(c.minScale >= 0) || !(c.maxScale >= 0) || (c.maxScale > 0 && c.minScale > c.maxScale)) {
    throw new RangeError('need 0 <= minScale <= maxScale (maxScale 0 = unbounded)');
  }
  if (!(c.maxScaleDownRate > 1) || !(c.maxScaleUpRate > 1)) throw new RangeError('scale rates must be > 1');
  return c;
}

/** The per-revision decider inputs (`scaling.DeciderSpec`, built in `kpa/resources/decider.go`). */
export interface DeciderSpec {
  /** Concurrency per pod to aim for: max(1, total × utilization). */
  targetValue: number;
  /** Concurrency a pod can hold: containerConcurrency (or the default when 0). */
  totalValue: number;
  targetBurstCapacity: number;
  /** panic-threshold-percentage / 100. */
  panicThreshold: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  stableWindowMs: number;
  /** A revision receiving traffic (always true here); false lets it drop to 1 at once. */
  reachable: boolean;
}

/** `ResolveMetricTarget` (`pkg/reconciler/autoscaling/resources/target.go`) and the decider spec. */
export function deciderSpec(config: ResolvedKpaConfig): DeciderSpec {
  let total = config.containerConcurrency === 0 ? config.containerConcurrencyTargetDefault : config.containerConcurrency;
  if (config.target !== undefined) {
    total = config.containerConcurrency !== 0 ? Math.min(config.target, config.containerConcurrency) : config.target;
  }
  return {
    targetValue: Math.max(1, total * config.targetUtilization),
    totalValue: total,
    targetBurstCapacity: config.targetBurstCapacity,
    panicThreshold: config.panicThresholdPercentage / 100,
    maxScaleUpRate: config.maxScaleUpRate,
    maxScaleDownRate: config.maxScaleDownRate,
    stableWindowMs: config.stableWindowMs,
    reachable: true,
  };
}

/** The decider's memory between ticks: `panicTime` (null = not panicking) and `maxPanicPods`. */
export interface PanicState {
  panicTimeMs: number | null;
  maxPanicPods: number;
}

export interface Decision {
  desiredPodCount: number;
  excessBurstCapacity: number;
  inPanic: boolean;
  state: PanicState;
}

/**
 * One `Scale()` of `pkg/autoscaler/scaling/autoscaler.go`, on observed stable and panic values
 * (ScaleDownDelay and ActivationScale left out: their defaults, 0 and 1, make them no-ops).
 */
export function decide(
  spec: DeciderSpec,
  state: PanicState,
  observed: { stable: number; panic: number },
  originalReadyPods: number,
  nowMs: number,
): Decision {
  // "Use 1 if there are zero current pods."
  const ready = Math.max(1, originalReadyPods);
  const maxScaleUp = Math.ceil(spec.maxScaleUpRate * ready);
  const maxScaleDown = spec.reachable ? Math.floor(ready / spec.maxScaleDownRate) : 0;
  const dspc = Math.ceil(observed.stable / spec.targetValue);
  const dppc = Math.ceil(observed.panic / spec.targetValue);
  const desiredStable = Math.trunc(Math.min(Math.max(dspc, maxScaleDown), maxScaleUp));
  const desiredPanic = Math.trunc(Math.min(Math.max(dppc, maxScaleDown), maxScaleUp));

  const over = dppc / ready >= spec.panicThreshold;
  let { panicTimeMs, maxPanicPods } = state;
  if (over) {
    panicTimeMs = nowMs; // begin panicking, or extend the panic window
  } else if (panicTimeMs !== null && panicTimeMs + spec.stableWindowMs < nowMs) {
    // "Stop panicking after the surge has made its way into the stable metric."
    panicTimeMs = null;
    maxPanicPods = 0;
  }

  let desired = desiredStable;
  if (panicTimeMs !== null) {
    // In panic: the larger of the two, and never below the most asked for since panic began.
    if (desired < desiredPanic) desired = desiredPanic;
    if (desired > maxPanicPods) maxPanicPods = desired;
    desired = maxPanicPods;
  }

  // EBC = TotCapacity - TargetBurstCapacity - observed panic value (floored); -1 when TBC is -1.
  let ebc = -1;
  if (spec.targetBurstCapacity === 0) ebc = 0;
  else if (spec.targetBurstCapacity > 0) {
    ebc = Math.floor(originalReadyPods * spec.totalValue - spec.targetBurstCapacity - observed.panic);
  }
  return { desiredPodCount: desired, excessBurstCapacity: ebc, inPanic: panicTimeMs !== null, state: { panicTimeMs, maxPanicPods } };
}

/** `applyBounds` in `pkg/reconciler/autoscaling/kpa/scaler.go`; max 0 = no upper bound. */
export function applyBounds(min: number, max: number, x: number): number {
  if (x < min) return min;
  if (max !== 0 && x > max) return max;
  return x;
}

export interface ScaleResult {
  /** Pods the service should have (bounded, scale-to-zero rules applied). */
  desiredPods: number;
  inPanic: boolean;
  stableConcurrency: number;
  panicConcurrency: number;
  /** Negative: the activator stays in the request path. */
  excessBurstCapacity: number;
  /** False when no data came for a whole stable window: Knative then leaves the scale as it is. */
  valid: boolean;
}

/**
 * The KPA for one revision: {@link record} the revision's concurrency once per second, call
 * {@link scale} every tick (Knative: 2 s) with the ready pod count.
 */
export class PodAutoscaler {
  readonly config: ResolvedKpaConfig;
  readonly spec: DeciderSpec;
  private readonly stable: WindowedAverage;
  private readonly panic: WindowedAverage;
  private state: PanicState;
  /** When the revision last became active (had ready pods); null while it has none. */
  private activeSinceMs: number | null = null;
  /** When the scaler marked the revision inactive (activator in the path, waiting the grace period). */
  private inactiveSinceMs: number | null = null;

  constructor(config: KpaConfig, init: { nowMs?: number; readyPods?: number } = {}) {
    this.config = resolveKpaConfig(config);
    this.spec = deciderSpec(this.config);
    const panicWindowMs = (this.config.stableWindowMs * this.config.panicWindowPercentage) / 100;
    this.stable = new WindowedAverage(this.config.stableWindowMs);
    this.panic = new WindowedAverage(Math.max(1000, panicWindowMs));
    // newAutoscaler: "We always start in the panic mode, if the deployment is scaled up over 1 pod."
    const ready = init.readyPods ?? 0;
    const now = init.nowMs ?? 0;
    this.state = { panicTimeMs: ready > 1 ? now : null, maxPanicPods: ready };
    if (ready > 0) this.activeSinceMs = now;
  }

  /** The revision's concurrency (every request inside it) over the second ending at nowMs. */
  record(nowMs: number, concurrency: number): void {
    this.stable.record(nowMs, concurrency);
    this.panic.record(nowMs, concurrency);
  }

  scale(nowMs: number, readyPods: number): ScaleResult {
    const c = this.config;
    if (readyPods > 0 && this.activeSinceMs === null && this.inactiveSinceMs === null) this.activeSinceMs = nowMs;
    if (readyPods === 0) this.activeSinceMs = null;
    const stableConcurrency = this.stable.average(nowMs);
    const panicConcurrency = this.panic.average(nowMs);
    if (this.stable.isEmpty(nowMs)) {
      return {
        desiredPods: readyPods,
        inPanic: this.state.panicTimeMs !== null,
        stableConcurrency,
        panicConcurrency,
        excessBurstCapacity: -1,
        valid: false,
      };
    }
    const d = decide(this.spec, this.state, { stable: stableConcurrency, panic: panicConcurrency }, readyPods, nowMs);
    this.state = d.state;
    let desired = applyBounds(c.minScale, c.maxScale, d.desiredPodCount);
    if (desired === 0 && !c.enableScaleToZero) desired = 1;
    if (desired === 0) {
      // handleScaleToZero: an active revision is first marked inactive once it has been active for
      // the stable window (pods kept; before that, at most 1); an inactive one (activator in the
      // path) goes to zero after the scale-to-zero grace period.
      if (this.inactiveSinceMs === null) {
        if (this.activeSinceMs !== null && nowMs - this.activeSinceMs >= c.stableWindowMs) {
          this.inactiveSinceMs = nowMs;
          desired = readyPods;
        } else if (this.activeSinceMs !== null) desired = 1;
      } else if (nowMs - this.inactiveSinceMs < c.scaleToZeroGracePeriodMs) {
        desired = readyPods;
      }
    } else if (this.inactiveSinceMs !== null) {
      this.inactiveSinceMs = null; // traffic again: active once pods are ready
      this.activeSinceMs = readyPods > 0 ? nowMs : null;
    }
    return {
      desiredPods: desired,
      inPanic: d.inPanic,
      stableConcurrency,
      panicConcurrency,
      excessBurstCapacity: d.excessBurstCapacity,
      valid: true,
    };
  }
}
