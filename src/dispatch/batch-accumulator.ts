import type { KafkaRecord } from '../source/record.js';
import type { DispatchResult } from './outcome.js';

/** A record waiting in a batch, with the promise the scheduler holds for it. */
export interface BatchEntry {
  record: KafkaRecord;
  bytes: number;
  /** performance.now() when it entered the batch. */
  enteredAt: number;
  /** Attempts the record had in batches so far (a record sent alone after them goes on counting). */
  attempts: number;
  /** Settles the scheduler's promise: with the outcome, or the record dispatcher's promise of it. */
  resolve: (result: DispatchResult | undefined | Promise<DispatchResult | undefined>) => void;
}

/** A closed batch: its records in the order they came, and when its first record came. */
export interface Batch {
  entries: BatchEntry[];
  bytes: number;
  /** performance.now() of its first record: the batch's wait ends when it is sent. */
  openedAt: number;
}

export interface BatchAccumulatorOptions {
  maxRecords: number;
  maxBytes: number;
  /** 0: a batch closes on the next turn of the event loop, holding what came in the same turn. */
  maxWaitMs: number;
  /** How big a record counts (batch-encode.ts recordBytes). */
  bytesOf: (record: KafkaRecord) => number;
  /** Sends a closed batch; every entry's `resolve` must be called once, when its record finished. */
  send: (batch: Batch) => void;
}

/**
 * Collects the records the scheduler releases to one sink into batches: a batch closes when it has
 * `maxRecords`, when the next record would take it past `maxBytes` (a record larger than that goes
 * alone), or `maxWaitMs` after its first record came. The scheduler counts a record waiting here
 * as in flight, so MAX_IN_FLIGHT bounds the records in batches too.
 */
export class BatchAccumulator {
  private open: Batch | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: BatchAccumulatorOptions) {}

  /** Resolves when the record finished (its outcome), or undefined when a hard stop left it unfinished. */
  add(record: KafkaRecord): Promise<DispatchResult | undefined> {
    const { maxRecords, maxBytes } = this.options;
    const bytes = this.options.bytesOf(record);
    return new Promise((resolve) => {
      const entry: BatchEntry = { record, bytes, enteredAt: performance.now(), attempts: 0, resolve };
      if (this.open && this.open.bytes + bytes > maxBytes) this.flush();
      if (bytes >= maxBytes) {
        // Too big to share a request: alone, at once.
        this.options.send({ entries: [entry], bytes, openedAt: entry.enteredAt });
        return;
      }
      if (!this.open) {
        this.open = { entries: [], bytes: 0, openedAt: entry.enteredAt };
        this.timer = setTimeout(() => this.flush(), this.options.maxWaitMs);
      }
      this.open.entries.push(entry);
      this.open.bytes += bytes;
      if (this.open.entries.length >= maxRecords) this.flush();
    });
  }

  /**
   * A run of consecutive records of one lane (ORDERING ordered or key): they go in one batch, never
   * split over two in flight at once. The scheduler made the run fit BATCH_MAX_RECORDS and BYTES.
   */
  addRun(records: readonly KafkaRecord[]): Array<Promise<DispatchResult | undefined>> {
    const { maxRecords, maxBytes } = this.options;
    const now = performance.now();
    const entries: BatchEntry[] = [];
    const promises = records.map(
      (record) =>
        new Promise<DispatchResult | undefined>((resolve) => {
          entries.push({ record, bytes: this.options.bytesOf(record), enteredAt: now, attempts: 0, resolve });
        }),
    );
    const bytes = entries.reduce((sum, entry) => sum + entry.bytes, 0);
    if (this.open && (this.open.entries.length + entries.length > maxRecords || this.open.bytes + bytes > maxBytes)) this.flush();
    if (!this.open) {
      this.open = { entries: [], bytes: 0, openedAt: now };
      this.timer = setTimeout(() => this.flush(), this.options.maxWaitMs);
    }
    this.open.entries.push(...entries);
    this.open.bytes += bytes;
    if (this.open.entries.length >= maxRecords || this.open.bytes >= maxBytes) this.flush();
    return promises;
  }

  /** Sends the open batch now (the stop does not wait out `maxWaitMs`). */
  flush(): void {
    const batch = this.open;
    if (!batch) return;
    this.open = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.options.send(batch);
  }
}
