/**
 * Finished offsets of one partition, and the offset that may be committed: the one after the
 * longest run of finished records, counted in the order they were received. Offsets are not
 * contiguous in Kafka (compaction, transaction markers), so the run follows received records,
 * never offset + 1.
 */
export class OffsetTracker {
  private offsets: number[] = [];
  private timestamps: number[] = [];
  private done: boolean[] = [];
  private head = 0;
  private lastRegistered = -1;
  private commitOffset: number | undefined;

  /**
   * Registers a received record; false when the offset was already registered (a re-fetch after a
   * rebalance that kept this partition), so it must not be dispatched again.
   */
  register(offset: number, timestamp = 0): boolean {
    if (offset <= this.lastRegistered) return false;
    this.lastRegistered = offset;
    this.offsets.push(offset);
    this.timestamps.push(timestamp);
    this.done.push(false);
    return true;
  }

  finish(offset: number): void {
    const index = this.indexOf(offset);
    if (index < 0) return;
    this.done[index] = true;
    while (this.head < this.offsets.length && this.done[this.head]) {
      this.commitOffset = this.offsets[this.head]! + 1;
      this.head++;
    }
    // Compact now and then so memory follows what is unfinished, not what was ever received.
    if (this.head > 1024 && this.head * 2 > this.offsets.length) {
      this.offsets = this.offsets.slice(this.head);
      this.timestamps = this.timestamps.slice(this.head);
      this.done = this.done.slice(this.head);
      this.head = 0;
    }
  }

  /** The next offset to consume after everything finished so far; undefined before the first. */
  committable(): number | undefined {
    return this.commitOffset;
  }

  /** Received and not yet finished. */
  get unfinished(): number {
    let count = 0;
    for (let i = this.head; i < this.done.length; i++) if (!this.done[i]) count++;
    return count;
  }

  /** The oldest unfinished offset, if any: the head of the window, which stops at the first unfinished. */
  oldestUnfinished(): number | undefined {
    return this.head < this.offsets.length ? this.offsets[this.head] : undefined;
  }

  /** Timestamp of the oldest unfinished record, if any (what lag in seconds is measured from). */
  oldestUnfinishedTimestamp(): number | undefined {
    return this.head < this.offsets.length ? this.timestamps[this.head] : undefined;
  }

  private indexOf(offset: number): number {
    // Offsets are ascending: binary search over the live window.
    let lo = this.head;
    let hi = this.offsets.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const value = this.offsets[mid]!;
      if (value === offset) return mid;
      if (value < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
