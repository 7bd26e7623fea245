/**
 * A simulation timeline: one row per simulated second. The simulator produces it; the chart renderer
 * (render.ts) and the exporters (export.ts) read it.
 */

export interface TimelineRow {
  /** Time in seconds since the start of the run. */
  t: number;
  /** Records produced to the topic during this second. */
  produced: number;
  /** Records delivered to the sink during this second. */
  delivered: number;
  /** Consumer lag (records) at the end of this second. */
  lag: number;
  /** Consumer lag expressed in seconds. */
  lagSeconds: number;
  /** Deliveries in flight at the end of this second. */
  inFlight: number;
  /** The concurrency limit in force, when there is one. */
  inFlightLimit?: number;
  /** The demand (concurrency the load would need), when known. */
  demand?: number;
  podsReady: number;
  podsDesired: number;
  /** The autoscaler is in panic mode during this second. */
  panic: boolean;
  rejected503: number;
  deadLettered: number;
  skipped: number;
}

export interface Timeline {
  title: string;
  rows: TimelineRow[];
  notes?: string[];
}
