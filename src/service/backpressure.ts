import type { DispatchListener } from '../dispatch/outcome.js';

/** The part of the Kafka source that backpressure drives. */
export interface PausingSource {
  /** True while some partition is paused by a full buffer. */
  readonly hasPaused: boolean;
  resumePaused(): void;
}

export interface BackpressureOptions {
  maxBufferedRecords: number;
  maxInFlight: number;
  /** Records fetched and not finished (the scheduler's queued or running). */
  buffered: () => number;
  source: PausingSource;
}

/**
 * Bounds the records buffered ahead of dispatch. At the limit, the partition whose batch just
 * arrived is paused (the source asks `isFull`); every paused partition resumes once the buffer is
 * below half the limit, so the next fetches arrive while the rest is still being dispatched. A
 * dispatch listener: finished records are what make room.
 */
export class Backpressure implements DispatchListener {
  /** Never below maxInFlight: the in-flight slots alone must not pause fetching. */
  readonly limit: number;
  readonly resumeBelow: number;
  private resumeQueued = false;

  constructor(private readonly options: BackpressureOptions) {
    this.limit = Math.max(options.maxBufferedRecords, options.maxInFlight);
    this.resumeBelow = Math.floor(this.limit / 2);
  }

  isFull(): boolean {
    return this.options.buffered() >= this.limit;
  }

  hasRoom(): boolean {
    return this.options.buffered() < this.resumeBelow;
  }

  onFinished(): void {
    const { source } = this.options;
    // Completions come in bursts: look for partitions to resume once per burst, not per record.
    if (this.resumeQueued || !source.hasPaused) return;
    this.resumeQueued = true;
    setImmediate(() => {
      this.resumeQueued = false;
      if (this.hasRoom()) source.resumePaused();
    });
  }
}
