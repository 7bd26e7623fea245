import type { Ordering } from '../config/settings.js';
import { partitionId, type KafkaRecord } from '../source/record.js';

/**
 * Decides when each record may start. Records that must stay in order share a lane and a lane runs
 * one record at a time:
 * - `ordered`: one lane per partition;
 * - `key`: one lane per partition and key (a null key is one lane per partition, or no lane with
 *   `nullKeys: 'unordered'`);
 * - `unordered`: no lanes.
 * On top, at most `maxInFlightPerPartition` run per partition and `maxInFlight` overall.
 */
export interface SchedulerOptions {
  ordering: Ordering;
  maxInFlight: number;
  maxInFlightPerPartition: number;
  nullKeys?: 'partition' | 'unordered';
  run: (record: KafkaRecord) => Promise<unknown>;
  /**
   * Micro-batching in `ordered` and `key`: a lane starts up to `maxRecords` of its consecutive
   * records at once (their values up to `maxBytes`, at least one record), handed to `runRun`
   * together so they travel in one batch, and starts nothing more until all of them finished. Absent
   * (no batching): a lane runs one record at a time through `run`.
   */
  laneRuns?: {
    maxRecords: number;
    maxBytes: number;
    bytesOf: (record: KafkaRecord) => number;
    runRun: (records: KafkaRecord[]) => Promise<unknown>;
  };
}

interface Lane {
  key: string;
  records: KafkaRecord[];
  head: number;
  busy: boolean;
  /** Records of this lane running now (from `head`): 1, or a run of them with `laneRuns`. */
  running: number;
  partition: PartitionQueue;
  /** The partition's records that keep no order: any number of them run at once, never busy. */
  free: boolean;
}

interface PartitionQueue {
  id: string;
  inFlight: number;
  queuedOrRunning: number;
  ready: Lane[];
  readyHead: number;
  lanes: Map<string, Lane>;
  revoked: boolean;
  /** The highest offset started in this partition, -1 before any. */
  maxStarted: number;
  /** Where records that keep no order queue: one lane for all of them, not one each. */
  free: Lane | undefined;
}

export class Scheduler {
  private readonly partitions = new Map<string, PartitionQueue>();
  /** The same queues in a fixed order, walked round-robin from `cursor`. */
  private queues: PartitionQueue[] = [];
  private cursor = 0;
  private inFlight = 0;
  private queuedOrRunningTotal = 0;
  private idleWaiters: Array<() => void> = [];
  private noneRunningWaiters: Array<() => void> = [];
  private readonly perPartitionCap: number;
  /** While held (a rebalance under way), nothing new starts; what runs finishes. */
  private held = false;
  /** The overall cap now: `maxInFlight`, or what adaptive concurrency has learned. */
  private limit: number;

  constructor(private readonly options: SchedulerOptions) {
    this.perPartitionCap = options.ordering === 'ordered' ? 1 : options.maxInFlightPerPartition;
    this.limit = options.maxInFlight;
  }

  /** The overall cap on running records. Lowered, what runs finishes; raised, more start at once. */
  get maxInFlight(): number {
    return this.limit;
  }

  setMaxInFlight(limit: number): void {
    const raised = limit > this.limit;
    this.limit = Math.max(1, Math.floor(limit));
    if (raised) this.pump();
  }

  /** Records submitted and not finished: queued behind others, or running. */
  get queuedOrRunning(): number {
    return this.queuedOrRunningTotal;
  }

  /** Records running now (their dispatch started and has not finished). */
  get running(): number {
    return this.inFlight;
  }

  /** `queuedOrRunning` within one partition. */
  queuedOrRunningIn(topic: string, partition: number): number {
    return this.partitions.get(partitionId(topic, partition))?.queuedOrRunning ?? 0;
  }

  submit(record: KafkaRecord): void {
    const id = partitionId(record.topic, record.partition);
    let queue = this.partitions.get(id);
    // A revoked partition still in the map has records running (it goes once they finish): given
    // back, its new records queue behind them, so a lane never runs two at once.
    if (queue?.revoked) queue.revoked = false;
    if (!queue) {
      queue = {
        id,
        inFlight: 0,
        queuedOrRunning: 0,
        ready: [],
        readyHead: 0,
        lanes: new Map(),
        revoked: false,
        maxStarted: -1,
        free: undefined,
      };
      this.partitions.set(id, queue);
      this.queues.push(queue);
    }
    const laneKey = this.laneOf(record);
    let lane = laneKey === undefined ? (queue.free ??= newLane('', queue, true)) : queue.lanes.get(laneKey);
    if (!lane) {
      lane = newLane(laneKey!, queue, false);
      queue.lanes.set(laneKey!, lane);
    }
    lane.records.push(record);
    queue.queuedOrRunning++;
    this.queuedOrRunningTotal++;
    if (!lane.busy && lane.records.length - lane.head === 1) queue.ready.push(lane);
    this.pump();
  }

  /**
   * Forgets the queued records of a partition that was revoked; those already running finish but
   * start nothing after them. Returns how many queued records were dropped.
   */
  dropPartition(topic: string, partition: number): number {
    const id = partitionId(topic, partition);
    const queue = this.partitions.get(id);
    if (!queue) return 0;
    // Shared lanes are in the map; a record's own lane only in the ready list until it starts.
    const lanes = new Set(queue.lanes.values());
    if (queue.free) lanes.add(queue.free);
    let dropped = 0;
    for (const lane of lanes) {
      const keep = lane.busy ? lane.running : 0;
      dropped += lane.records.length - lane.head - keep;
      lane.records.length = lane.head + keep;
    }
    queue.queuedOrRunning -= dropped;
    this.queuedOrRunningTotal -= dropped;
    queue.revoked = true;
    queue.ready = [];
    queue.readyHead = 0;
    if (queue.inFlight === 0) this.removeQueue(queue);
    this.notifyIdle();
    return dropped;
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.queuedOrRunningTotal === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves when nothing is running (queued records may remain). */
  noneRunning(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.noneRunningWaiters.push(resolve));
  }

  /** Starts nothing new until `release`: a rebalance is under way and the partitions may move. */
  hold(): void {
    this.held = true;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.pump();
  }

  /**
   * The stop: of what is queued, keeps only the records that lie below the highest offset already
   * started in their partition (so the committed offset can reach past everything that started) and
   * forgets the rest, which nothing has sent yet and the next owner delivers once. Returns how many
   * were forgotten. After it, `idle()` resolves when the kept and running records finish.
   */
  keepOnlyGapFillers(): number {
    let dropped = 0;
    for (const queue of this.queues) {
      const lanes = new Set(queue.lanes.values());
      if (queue.free) lanes.add(queue.free);
      let droppedHere = 0;
      for (const lane of lanes) {
        // Lanes hold their records in offset order: the kept ones are a prefix.
        let end = lane.head + (lane.busy ? lane.running : 0);
        // Held by a rebalance, nothing more may start: the partitions may be another member's already.
        const below = this.held ? -1 : queue.maxStarted;
        while (end < lane.records.length && lane.records[end]!.offset < below) end++;
        droppedHere += lane.records.length - end;
        lane.records.length = end;
        if (!lane.busy && end === lane.head && queue.lanes.get(lane.key) === lane) queue.lanes.delete(lane.key);
      }
      queue.ready = queue.ready.slice(queue.readyHead).filter((lane) => lane.records.length > lane.head);
      queue.readyHead = 0;
      queue.queuedOrRunning -= droppedHere;
      dropped += droppedHere;
    }
    this.queuedOrRunningTotal -= dropped;
    this.notifyIdle();
    return dropped;
  }

  /** The lane a record must share with others, or undefined when it keeps no order. */
  private laneOf(record: KafkaRecord): string | undefined {
    switch (this.options.ordering) {
      case 'ordered':
        return '';
      case 'key':
        if (record.key === null) return this.options.nullKeys === 'unordered' ? undefined : 'null';
        return `k${record.key.toString('latin1')}`;
      case 'unordered':
        return undefined;
    }
  }

  private removeQueue(queue: PartitionQueue): void {
    if (this.partitions.get(queue.id) === queue) this.partitions.delete(queue.id);
    const index = this.queues.indexOf(queue);
    if (index >= 0) this.queues.splice(index, 1);
  }

  /**
   * Starts what may start, round-robin over partitions from where the last call stopped, so that a
   * partition with a deep queue cannot starve the others of the global slots.
   */
  private pump(): void {
    const queues = this.queues;
    const count = queues.length;
    if (count === 0) return;
    let index = this.cursor % count;
    let idle = 0;
    while (!this.held && this.inFlight < this.limit && idle < count) {
      const queue = queues[index]!;
      index = (index + 1) % count;
      if (queue.inFlight >= this.perPartitionCap || queue.readyHead >= queue.ready.length) {
        idle++;
        continue;
      }
      idle = 0;
      const lane = queue.ready[queue.readyHead++]!;
      if (queue.readyHead > 256 && queue.readyHead * 2 > queue.ready.length) {
        queue.ready = queue.ready.slice(queue.readyHead);
        queue.readyHead = 0;
      }
      this.start(lane);
    }
    this.cursor = index;
  }

  private start(lane: Lane): void {
    if (lane.free) {
      this.startFree(lane);
      return;
    }
    const record = lane.records[lane.head]!;
    const queue = lane.partition;
    const count = this.options.laneRuns ? this.runLength(lane) : 1;
    const last = lane.records[lane.head + count - 1]!;
    lane.busy = true;
    lane.running = count;
    if (last.offset > queue.maxStarted) queue.maxStarted = last.offset;
    queue.inFlight += count;
    this.inFlight += count;
    const finish = () => {
      lane.busy = false;
      lane.running = 0;
      lane.head += count;
      queue.inFlight -= count;
      queue.queuedOrRunning -= count;
      this.inFlight -= count;
      this.queuedOrRunningTotal -= count;
      if (lane.head < lane.records.length) {
        if (lane.head > 1024 && lane.head * 2 > lane.records.length) {
          lane.records = lane.records.slice(lane.head);
          lane.head = 0;
        }
        queue.ready.push(lane);
      } else if (queue.lanes.get(lane.key) === lane) {
        queue.lanes.delete(lane.key);
      }
      if (queue.revoked && queue.inFlight === 0) this.removeQueue(queue);
      this.notifyIdle();
      this.pump();
    };
    if (count === 1) this.options.run(record).then(finish, finish);
    else this.options.laneRuns!.runRun(lane.records.slice(lane.head, lane.head + count)).then(finish, finish);
  }

  /** How many of the lane's queued records start together: consecutive, within the run's limits. */
  private runLength(lane: Lane): number {
    const { maxRecords, maxBytes, bytesOf } = this.options.laneRuns!;
    const available = Math.min(maxRecords, lane.records.length - lane.head);
    let bytes = bytesOf(lane.records[lane.head]!);
    let count = 1;
    while (count < available) {
      bytes += bytesOf(lane.records[lane.head + count]!);
      if (bytes > maxBytes) break;
      count++;
    }
    return count;
  }

  /** A record that keeps no order: it leaves its lane as it starts, and the lane stays ready while it holds more. */
  private startFree(lane: Lane): void {
    const record = lane.records[lane.head++]!;
    const queue = lane.partition;
    if (lane.head < lane.records.length) {
      if (lane.head > 1024 && lane.head * 2 > lane.records.length) {
        lane.records = lane.records.slice(lane.head);
        lane.head = 0;
      }
      queue.ready.push(lane);
    } else {
      lane.records.length = 0;
      lane.head = 0;
    }
    if (record.offset > queue.maxStarted) queue.maxStarted = record.offset;
    queue.inFlight++;
    this.inFlight++;
    this.options.run(record).then(
      () => this.finishFree(queue),
      () => this.finishFree(queue),
    );
  }

  private finishFree(queue: PartitionQueue): void {
    queue.inFlight--;
    queue.queuedOrRunning--;
    this.inFlight--;
    this.queuedOrRunningTotal--;
    if (queue.revoked && queue.inFlight === 0) this.removeQueue(queue);
    this.notifyIdle();
    this.pump();
  }

  private notifyIdle(): void {
    if (this.inFlight === 0 && this.noneRunningWaiters.length > 0) {
      const waiters = this.noneRunningWaiters;
      this.noneRunningWaiters = [];
      for (const resolve of waiters) resolve();
    }
    if (this.queuedOrRunningTotal !== 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function newLane(key: string, partition: PartitionQueue, free: boolean): Lane {
  return { key, records: [], head: 0, busy: false, running: 0, partition, free };
}
