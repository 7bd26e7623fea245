/**
 * Every error the dispatcher raises carries a stable `code` that logs, metrics and callers can
 * match on, and says whether trying again could succeed.
 */
export class DispatchError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

export interface ConfigIssue {
  /** Dotted path of the offending field, e.g. `spec.delivery.retry` or `env.REQUEST_TIMEOUT`. */
  path: string;
  message: string;
}

/**
 * Invalid configuration: all problems at once, each naming its field. The CLI exits 2. Each path and
 * message is cut at ISSUE_TEXT_LIMIT characters: the messages quote values cut short already, so this
 * only stops an echo the messages did not foresee from filling a terminal or a log.
 */
export class ConfigError extends DispatchError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    const bounded = issues.map((i) => ({ path: cutShort(i.path), message: cutShort(i.message) }));
    super('KD_CONFIG_INVALID', `invalid configuration:\n${bounded.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`);
    this.issues = bounded;
  }
}

const ISSUE_TEXT_LIMIT = 1000;

function cutShort(text: string): string {
  return text.length <= ISSUE_TEXT_LIMIT ? text : `${text.slice(0, ISSUE_TEXT_LIMIT)}… (${text.length} characters)`;
}

/** The sink answered with a status that is not a success. */
export class SinkResponseError extends DispatchError {
  readonly status: number;
  readonly body: Buffer;
  readonly retryAfterMs: number | undefined;
  constructor(status: number, body: Buffer, retriable: boolean, retryAfterMs?: number) {
    super('KD_SINK_STATUS', `sink answered ${status}`, { retriable });
    this.status = status;
    this.body = body;
    this.retryAfterMs = retryAfterMs;
  }
}

/** No answer: connection refused or reset, DNS, TLS, or the attempt timed out. Always retriable. */
export class SinkTransportError extends DispatchError {
  readonly timedOut: boolean;
  constructor(message: string, options: { timedOut: boolean; cause?: unknown }) {
    super(options.timedOut ? 'KD_SINK_TIMEOUT' : 'KD_SINK_TRANSPORT', message, { retriable: true, cause: options.cause });
    this.timedOut = options.timedOut;
  }
}

/** A record that cannot become a request at all (a malformed CloudEvent, say). Never retried. */
export class RecordFormatError extends DispatchError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('KD_RECORD_INVALID', message, { retriable: false, cause: options.cause });
  }
}

/**
 * Micro-batching: the sink answered 2xx but marked this record's item failed (README, "Micro-batching").
 * Retriable: the record is retried alone, then dead-lettered alone.
 */
export class BatchItemError extends DispatchError {
  constructor(message: string) {
    super('KD_BATCH_ITEM_FAILED', `the sink marked the item failed: ${message}`, { retriable: true });
  }
}

/** A required tool (java, mvn) or service (a broker) is not there. */
export class EnvironmentError extends DispatchError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/** The dispatcher cannot start as configured (a topic missing on the brokers, say). The CLI exits 1. */
export class StartError extends DispatchError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}
