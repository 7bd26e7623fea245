/** The emulated Knative Service: the entry for the simulator and other tooling. */
export { startKnativeService, type CostModel, type EmulatedService, type KnativeServiceOptions, type ServiceSnapshot } from './service.js';
export { createClock, type Clock } from './clock.js';
export {
  PodAutoscaler,
  KPA_DEFAULTS,
  applyBounds,
  decide,
  deciderSpec,
  resolveKpaConfig,
  type DeciderSpec,
  type Decision,
  type KpaConfig,
  type PanicState,
  type ResolvedKpaConfig,
  type ScaleResult,
} from './kpa.js';
export { WindowedAverage } from './aggregation.js';
export { QueueProxy, QUEUE_FULL_MESSAGE, type Release } from './queue-proxy.js';
export { Activator, ACTIVATOR_QUEUE_DEPTH, ACTIVATOR_TIMEOUT_MESSAGE, type HoldResult } from './activator.js';
export { Pod, type PodState } from './pod.js';
