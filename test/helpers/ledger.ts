import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import { Kafka, logLevel, type Message, type Producer } from 'kafkajs';
import { ROOT } from './cli.js';

/**
 * The fault suite's book of every record: each produced record gets a unique id (Kafka header
 * `ledger-id`, which reaches the sink as `ce-kafkaheaderledgerid`), a per-partition sequence and the
 * offset the broker gave it; the sinks note every arrival. From both it tells what a user cares
 * about: records lost, delivered twice, delivered out of order, and how long delivery took to resume
 * after a fault.
 */

/** `KD_FAULTS=long` (npm run test:faults) runs each case in its long form; anything else, the short one. */
export const FORM: 'short' | 'long' = process.env.KD_FAULTS === 'long' ? 'long' : 'short';
export const sized = <T>(short: T, long: T): T => (FORM === 'long' ? long : short);

export const LEDGER_HEADER = 'ledger-id';
/** The ledger header as the dispatcher maps it onto the CloudEvent (`ce-kafkaheader<name without dashes>`). */
export const LEDGER_CE_HEADER = 'ce-kafkaheaderledgerid';

export interface LedgerEntry {
  id: string;
  partition: number;
  /** 0, 1, 2… per partition, in produce order (which is offset order: sends never overlap). */
  seq: number;
  key: string | null;
  offset: number;
}

export interface Arrival {
  /** Ledger id, or undefined for a request that carried none (counted as foreign). */
  id: string | undefined;
  partition: number;
  offset: number;
  receivedAt: number;
  /** Set once the sink has answered 2xx in full: the record is delivered. */
  acceptedAt?: number;
}

export interface OrderingGroups {
  /** `ordered`: per partition; `key`: per partition and key. */
  by: 'partition' | 'key';
}

export interface Figures {
  case: string;
  form: 'short' | 'long';
  produced: number;
  delivered: number;
  skipped: number;
  lost: number;
  duplicates: number;
  orderViolations: number | null;
  /** Longest time from the end of a fault to the next delivery, ms; null without a fault. */
  resumeMs: number | null;
  /** Peak resident set of the dispatcher process(es), MiB; null when the dispatcher ran in-process. */
  peakRssMiB: number | null;
  durationMs: number;
  notes?: string;
}

export class Ledger {
  readonly entries = new Map<string, LedgerEntry>();
  readonly arrivals: Arrival[] = [];
  /** Arrivals without a known ledger id: requests the ledger never produced (or whose header was mangled). */
  readonly foreign: Arrival[] = [];
  /** Ids the dispatcher reported as given up (skipped) or dead-lettered: accounted for, not lost. */
  readonly givenUp = new Set<string>();
  private readonly byPartitionOffset = new Map<string, string>();
  /**
   * Ids being produced, offset not yet known: the dispatcher can fetch and deliver a record before
   * this process has read the broker's answer to the send, and that delivery must count.
   */
  private readonly sending = new Set<string>();
  private readonly seqs = new Map<number, number>();
  private readonly faultEnds: number[] = [];
  private readonly deliveredIds = new Set<string>();
  private acceptedCount = 0;
  private produced = 0;
  private producing: Promise<void> = Promise.resolve();
  private readonly started = Date.now();

  constructor(
    readonly topic: string,
    readonly partitions: number,
    /** Distinct keys, spread over the partitions so that a key always lands in the same one; 0 for null keys. */
    readonly keys = 0,
  ) {}

  /**
   * The next `count` records, each with its ledger id, partition and key (`build` may add to or
   * replace the value and headers; the ledger header is kept).
   */
  next(
    count: number,
    build: (entry: Omit<LedgerEntry, 'offset'>) => Partial<Message> = () => ({}),
  ): Array<{ entry: Omit<LedgerEntry, 'offset'>; message: Message }> {
    const out = [];
    for (let i = 0; i < count; i++) {
      const n = this.produced++;
      const keyIndex = this.keys > 0 ? n % this.keys : undefined;
      const partition = keyIndex !== undefined ? keyIndex % this.partitions : n % this.partitions;
      const seq = this.seqs.get(partition) ?? 0;
      this.seqs.set(partition, seq + 1);
      const id = `p${partition}s${seq}`;
      const entry = { id, partition, seq, key: keyIndex !== undefined ? `key-${keyIndex}` : null };
      const extra = build(entry);
      const message: Message = {
        partition,
        key: entry.key,
        value: `{"id":"${id}"}`,
        ...extra,
        headers: { ...(extra.headers ?? {}), [LEDGER_HEADER]: id },
      };
      out.push({ entry, message });
    }
    return out;
  }

  /**
   * Produces `count` records and books their offsets. Calls queue behind each other (a background
   * load and a backlog may overlap in a test): one send at a time, so sequence order is offset order.
   */
  produce(producer: Producer, count: number, build?: Parameters<Ledger['next']>[1], batch = 500): Promise<void> {
    const run = this.producing.then(() => this.produceNow(producer, count, build, batch));
    this.producing = run.catch(() => {});
    return run;
  }

  private async produceNow(producer: Producer, count: number, build: Parameters<Ledger['next']>[1], batch: number): Promise<void> {
    const records = this.next(count, build);
    for (let i = 0; i < records.length; i += batch) {
      const slice = records.slice(i, i + batch);
      for (const { entry } of slice) this.sending.add(entry.id);
      const metadata = await producer.send({ topic: this.topic, messages: slice.map((r) => r.message) }).finally(() => {
        for (const { entry } of slice) this.sending.delete(entry.id);
      });
      const base = new Map(metadata.map((m) => [m.partition, Number(m.baseOffset)]));
      const index = new Map<number, number>();
      for (const { entry } of slice) {
        const k = index.get(entry.partition) ?? 0;
        index.set(entry.partition, k + 1);
        const offset = base.get(entry.partition)! + k;
        this.entries.set(entry.id, { ...entry, offset });
        this.byPartitionOffset.set(`${entry.partition}/${offset}`, entry.id);
      }
    }
  }

  /** What a sink calls when a request comes in; then `accept(arrival)` once it answered 2xx in full. */
  arrived(headers: IncomingHttpHeaders | Record<string, string>): Arrival {
    // A record that already is a CloudEvent (Kafka binary mode) carries its id as the ce_ledgerid
    // attribute: its other Kafka headers are not mapped.
    const raw = headers[LEDGER_CE_HEADER] ?? headers['ce-ledgerid'];
    const id = typeof raw === 'string' && (this.entries.has(raw) || this.sending.has(raw)) ? raw : undefined;
    const arrival: Arrival = {
      id,
      partition: Number(headers['ce-knativekafkapartition']),
      offset: Number(headers['ce-knativekafkaoffset']),
      receivedAt: Date.now(),
    };
    if (id === undefined) this.foreign.push(arrival);
    else this.arrivals.push(arrival);
    return arrival;
  }

  accept(arrival: Arrival, at = Date.now()): void {
    if (arrival.id === undefined || arrival.acceptedAt !== undefined) return;
    arrival.acceptedAt = at;
    this.acceptedCount++;
    this.deliveredIds.add(arrival.id);
  }

  /** Records the dispatcher logged as given up or dead-lettered, by partition and offset. */
  noteGivenUp(lines: Array<{ msg: string; partition?: unknown; offset?: unknown; topic?: unknown }>): void {
    for (const line of lines) {
      if (line.topic !== this.topic) continue;
      if (!line.msg.startsWith('record given up') && !line.msg.startsWith('record dead-lettered')) continue;
      const id = this.byPartitionOffset.get(`${String(line.partition)}/${String(line.offset)}`);
      if (id) this.givenUp.add(id);
    }
  }

  /** Marks the end of a fault (sink back, broker back, replacement started): resume time counts from here. */
  faultEnded(at = Date.now()): void {
    this.faultEnds.push(at);
  }

  get producedCount(): number {
    return this.entries.size;
  }

  /** Ids delivered at least once (a 2xx answered in full). */
  delivered(): ReadonlySet<string> {
    return this.deliveredIds;
  }

  /** Produced, never delivered and not given up by the dispatcher. */
  lost(): LedgerEntry[] {
    const delivered = this.delivered();
    return [...this.entries.values()].filter((e) => !delivered.has(e.id) && !this.givenUp.has(e.id));
  }

  /** The lost records per partition, short: `partition 4: 3 lost, offsets 511..646`. */
  lostSummary(): string[] {
    const byPartition = new Map<number, number[]>();
    for (const e of this.lost()) byPartition.set(e.partition, [...(byPartition.get(e.partition) ?? []), e.offset]);
    return [...byPartition]
      .sort(([a], [b]) => a - b)
      .map(([p, offsets]) => `partition ${p}: ${offsets.length} lost, offsets ${Math.min(...offsets)}..${Math.max(...offsets)}`);
  }

  /** Deliveries beyond the first of each record. */
  duplicates(): number {
    return this.acceptedCount - this.deliveredIds.size;
  }

  /** Arrivals whose partition/offset attributes do not match the record the ledger id names. */
  mislabeled(): Arrival[] {
    return this.arrivals.filter((a) => {
      const e = this.entries.get(a.id!);
      // An id whose send failed after the broker took it: no offset was booked to compare with.
      if (!e) return false;
      return e.partition !== a.partition || e.offset !== a.offset;
    });
  }

  /**
   * Records whose first arrival came after the first arrival of a later record of the same
   * partition (`by: 'partition'`) or the same key (`by: 'key'`). Redeliveries are not first arrivals,
   * so a restart that repeats what was uncommitted does not count, but a record that overtakes an
   * earlier one does.
   */
  orderViolations({ by }: OrderingGroups): Array<{ id: string; after: string }> {
    const seen = new Set<string>();
    const highest = new Map<string, LedgerEntry>();
    const violations: Array<{ id: string; after: string }> = [];
    for (const a of [...this.arrivals].sort((x, y) => x.receivedAt - y.receivedAt)) {
      if (seen.has(a.id!)) continue;
      seen.add(a.id!);
      const e = this.entries.get(a.id!);
      if (!e) continue;
      const group = by === 'partition' ? String(e.partition) : `${e.partition}/${e.key}`;
      const top = highest.get(group);
      // Offsets are the broker's order; sequences should agree (produce is serialized), but the offset is the truth.
      if (top && top.offset > e.offset) violations.push({ id: e.id, after: top.id });
      else highest.set(group, e);
    }
    return violations;
  }

  /** Longest wait from the end of a fault to the next delivery, ms (undefined while one is still waiting). */
  resumeMs(): number | undefined {
    let worst = 0;
    for (const end of this.faultEnds) {
      let first = Number.POSITIVE_INFINITY;
      for (const a of this.arrivals) if (a.acceptedAt !== undefined && a.acceptedAt >= end) first = Math.min(first, a.acceptedAt);
      if (!Number.isFinite(first)) return undefined;
      worst = Math.max(worst, first - end);
    }
    return worst;
  }

  /** True once every produced record is delivered or given up. */
  complete(): boolean {
    if (this.deliveredIds.size + this.givenUp.size < this.entries.size) return false;
    return this.lost().length === 0;
  }

  /**
   * True once every record is delivered or given up, or once nothing has been delivered for
   * `quietMs` while some are missing: a wait that ends on this reports lost records at once
   * instead of running into its timeout.
   */
  settledOrStalled(quietMs: number): boolean {
    if (this.complete()) return true;
    let last = this.started;
    for (let i = this.arrivals.length - 1; i >= 0 && i >= this.arrivals.length - 200; i--) {
      last = Math.max(last, this.arrivals[i]!.acceptedAt ?? 0);
    }
    return Date.now() - last > quietMs;
  }

  /** Deliveries (2xx) that arrived in [from, to]. */
  deliveredBetween(from: number, to: number): number {
    return this.arrivals.filter((a) => a.acceptedAt !== undefined && a.receivedAt >= from && a.receivedAt <= to).length;
  }

  /**
   * The case's figures, written to build/faults/<case>.json for the faults reporter's table
   * (test/helpers/faults-reporter.ts). Call it before asserting, so a failing case still reports.
   */
  record(name: string, extra: { ordering?: OrderingGroups; peakRssMiB?: number | null; notes?: string } = {}): Figures {
    const figures: Figures = {
      case: name,
      form: FORM,
      produced: this.producedCount,
      delivered: this.delivered().size,
      skipped: this.givenUp.size,
      lost: this.lost().length,
      duplicates: this.duplicates(),
      orderViolations: extra.ordering ? this.orderViolations(extra.ordering).length : null,
      resumeMs: this.faultEnds.length > 0 ? (this.resumeMs() ?? null) : null,
      peakRssMiB: extra.peakRssMiB ?? null,
      durationMs: Date.now() - this.started,
      ...(extra.notes ? { notes: extra.notes } : {}),
    };
    writeFigures(figures);
    return figures;
  }
}

export const FIGURES_DIR = join(ROOT, 'build', 'faults');

export function writeFigures(figures: Figures): void {
  mkdirSync(FIGURES_DIR, { recursive: true });
  const file = figures.case.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
  writeFileSync(join(FIGURES_DIR, `${file}.json`), `${JSON.stringify(figures, null, 2)}\n`);
}

/** A producer of the test's own, so that the ledger sees the offsets each send was given. */
export async function connectProducer(brokers: string[]): Promise<Producer> {
  const producer = new Kafka({ clientId: 'kd-faults', brokers, logLevel: logLevel.NOTHING }).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  return producer;
}
