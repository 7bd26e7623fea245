/**
 * The library entry: what an embedding program (and the project's own tooling: the demo, the
 * benchmark) may use. Everything else under src/ is internal and may move.
 */
export { startDispatcher, type RunningDispatcher, type StartOptions, type StopResult } from './service/start-dispatcher.js';
export { DEFAULTS } from './config/options.js';
export { resolveConfig, type ResolvedConfig } from './config/resolve.js';
export type { Ordering, Settings } from './config/settings.js';
export { encodeCloudEvent, type CloudEventContext } from './dispatch/cloudevents.js';
export type { DispatchListener, DispatchResult, Outcome } from './dispatch/outcome.js';
export { ConfigError, DispatchError, EnvironmentError, StartError } from './errors.js';
export { createKafka } from './source/kafka-client.js';
export { createLogger, type Logger } from './telemetry/logger.js';
export { runCommandLine, type CommandLine } from './cli/command-line.js';
