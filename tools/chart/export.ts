/** Timeline exporters: CSV (one row per second) and JSON. */
import type { Timeline, TimelineRow } from './timeline.js';

/** The CSV columns, in order. Optional columns are empty where a row has no value. */
export const CSV_COLUMNS = [
  't',
  'produced',
  'delivered',
  'lag',
  'lagSeconds',
  'inFlight',
  'inFlightLimit',
  'demand',
  'podsReady',
  'podsDesired',
  'panic',
  'rejected503',
  'deadLettered',
  'skipped',
] as const satisfies ReadonlyArray<keyof TimelineRow>;

function csvCell(value: number | boolean | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'boolean') return value ? '1' : '0';
  return Number.isFinite(value) ? String(value) : '';
}

/** A header row and one row per second; booleans as 0/1; lines end with \n. */
export function timelineToCsv(timeline: Timeline): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of timeline.rows) lines.push(CSV_COLUMNS.map((column) => csvCell(row[column])).join(','));
  return `${lines.join('\n')}\n`;
}

/** The timeline as pretty-printed JSON (title, notes, rows), ending with a newline. */
export function timelineToJson(timeline: Timeline): string {
  return `${JSON.stringify({ title: timeline.title, notes: timeline.notes ?? [], rows: timeline.rows }, null, 2)}\n`;
}
