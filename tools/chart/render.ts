/**
 * A dependency-free SVG renderer for simulation timelines: three stacked panels sharing the time axis
 * (records, concurrency, pods), each with axes, 1-2-5 ticks and a legend. Colours are the Okabe-Ito
 * palette (safe for the common colour-vision deficiencies); line styles (solid, dashed, dotted, step)
 * tell series apart too. The output is one standalone SVG document: no scripts, no external fonts.
 *
 * Row semantics: `produced` and `delivered` are records per second (one row per second); `lag`,
 * `inFlight`, pods are the values at that second; a `panic` row shades the second centred on its t.
 */
import { formatTick, niceScale, niceTicksWithin, type NiceScale } from './ticks.js';
import type { Timeline, TimelineRow } from './timeline.js';

export interface RenderOptions {
  /** Width of one column in px (default 900 for one timeline, 700 per column for a comparison). */
  width?: number;
  /** Height of each panel's plot area in px (default 150). */
  panelHeight?: number;
}

/** Okabe-Ito. */
export const PALETTE = {
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  bluishGreen: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  reddishPurple: '#CC79A7',
  black: '#000000',
} as const;

export type PanelId = 'records' | 'concurrency' | 'pods';
type Axis = 'left' | 'right';

interface SeriesSpec {
  key: string;
  label: string;
  color: string;
  kind: 'line' | 'area' | 'step';
  dash?: string;
  axis: Axis;
  value: (row: TimelineRow) => number | undefined;
  /** Shown only when some row has a value (the optional fields). */
  optional?: boolean;
}

interface PanelSpec {
  id: PanelId;
  title: string;
  axisLabel: Record<Axis, string | undefined>;
  series: SeriesSpec[];
}

const PANELS: readonly PanelSpec[] = [
  {
    id: 'records',
    title: 'Records',
    axisLabel: { left: 'lag (records)', right: 'records / s' },
    series: [
      { key: 'lag', label: 'lag (left axis)', color: PALETTE.skyBlue, kind: 'area', axis: 'left', value: (r) => r.lag },
      { key: 'produced', label: 'produced / s', color: PALETTE.orange, kind: 'line', axis: 'right', value: (r) => r.produced },
      {
        key: 'delivered',
        label: 'delivered / s',
        color: PALETTE.bluishGreen,
        kind: 'line',
        dash: '6 3',
        axis: 'right',
        value: (r) => r.delivered,
      },
    ],
  },
  {
    id: 'concurrency',
    title: 'Concurrency',
    axisLabel: { left: 'requests', right: undefined },
    series: [
      { key: 'inFlight', label: 'in flight', color: PALETTE.blue, kind: 'line', axis: 'left', value: (r) => r.inFlight },
      {
        key: 'inFlightLimit',
        label: 'in-flight limit',
        color: PALETTE.vermillion,
        kind: 'line',
        dash: '7 4',
        axis: 'left',
        value: (r) => r.inFlightLimit,
        optional: true,
      },
      {
        key: 'demand',
        label: 'demand',
        color: PALETTE.reddishPurple,
        kind: 'line',
        dash: '1.5 3',
        axis: 'left',
        value: (r) => r.demand,
        optional: true,
      },
    ],
  },
  {
    id: 'pods',
    title: 'Pods',
    axisLabel: { left: 'pods', right: undefined },
    series: [
      { key: 'podsReady', label: 'ready', color: PALETTE.bluishGreen, kind: 'line', axis: 'left', value: (r) => r.podsReady },
      { key: 'podsDesired', label: 'desired', color: PALETTE.black, kind: 'step', dash: '5 3', axis: 'left', value: (r) => r.podsDesired },
    ],
  },
];

const PANIC = { key: 'panic', label: 'panic mode', color: PALETTE.vermillion, opacity: 0.15 } as const;

const FONT = 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, DejaVu Sans, Liberation Sans, sans-serif';
const MARGIN = { left: 66, right: 66 };
/** Room above the first panel: the title and up to two summary lines. */
const TOP = 98;
const PANEL_GAP = 66;
const LINE = 16;
const TEXT = '#222222';
const GRID = '#e3e3e3';
const AXIS = '#555555';

/** XML text and attribute escaping; characters XML 1.0 forbids are dropped. */
export function escapeXml(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

function num(value: number): string {
  const r = Math.round(value * 100) / 100;
  return String(Object.is(r, -0) ? 0 : r);
}

function finite(value: number | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** The scales one panel row uses; shared by every column of a comparison. */
interface PanelScales {
  left: NiceScale;
  right: NiceScale | undefined;
}

interface Scales {
  x: { min: number; max: number; ticks: number[] };
  panels: Record<PanelId, PanelScales>;
}

function computeScales(timelines: readonly Timeline[]): Scales {
  const ts = timelines.flatMap((tl) => tl.rows.map((r) => r.t).filter(finite));
  // reduce, not Math.min(...ts): a long run has more rows than a call takes arguments.
  const xMin = ts.length > 0 ? ts.reduce((a, b) => (b < a ? b : a)) : 0;
  let xMax = ts.length > 0 ? ts.reduce((a, b) => (b > a ? b : a)) : 1;
  if (xMax <= xMin) xMax = xMin + 1;
  const panels = {} as Record<PanelId, PanelScales>;
  for (const panel of PANELS) {
    const extent = (axis: Axis): NiceScale | undefined => {
      const specs = panel.series.filter((s) => s.axis === axis);
      if (specs.length === 0) return undefined;
      let max = 0;
      let min = 0;
      for (const tl of timelines)
        for (const row of tl.rows)
          for (const s of specs) {
            const v = s.value(row);
            if (finite(v)) {
              if (v > max) max = v;
              if (v < min) min = v;
            }
          }
      return niceScale(min, max, 5);
    };
    panels[panel.id] = { left: extent('left') ?? niceScale(0, 1), right: extent('right') };
  }
  return { x: { min: xMin, max: xMax, ticks: niceTicksWithin(xMin, xMax, 8) }, panels };
}

interface Frame {
  plotWidth: number;
  panelHeight: number;
  x: (t: number) => number;
}

function yOf(scale: NiceScale, height: number): (v: number) => number {
  const span = scale.max - scale.min || 1;
  return (v) => height - ((v - scale.min) / span) * height;
}

type Point = [x: number, y: number];

/**
 * The pixel points of one series, one array per unbroken segment: a row without a value breaks the
 * line. A step line gets its corners and holds its last value to the end of that second (so a single
 * row still shows a line).
 */
function seriesSegments(rows: readonly TimelineRow[], spec: SeriesSpec, frame: Frame, y: (v: number) => number, xMax: number): Point[][] {
  const segments: Point[][] = [];
  let current: Point[] = [];
  const flush = () => {
    if (current.length > 0) segments.push(current);
    current = [];
  };
  rows.forEach((row, i) => {
    const v = spec.value(row);
    if (!finite(v) || !finite(row.t)) {
      flush();
      return;
    }
    const px = frame.x(row.t);
    const py = y(v);
    const previous = current[current.length - 1];
    if (spec.kind === 'step' && previous !== undefined) current.push([px, previous[1]]);
    current.push([px, py]);
    const next = rows[i + 1];
    if (spec.kind === 'step' && (next === undefined || !finite(spec.value(next)))) {
      const end = Math.min(row.t + 1, xMax);
      if (end > row.t) current.push([frame.x(end), py]);
    }
  });
  flush();
  return segments.map((segment) => reduceToPixels(segment, frame.plotWidth));
}

/**
 * Long runs have more points than the plot has pixel columns: keep, per pixel column, the first, the
 * lowest, the highest and the last point (M4 aggregation), which draws the same picture. Shorter
 * segments are returned as they are.
 */
export function reduceToPixels(points: readonly Point[], columns: number): Point[] {
  if (points.length <= 4 * Math.max(1, columns)) return [...points];
  const out: Point[] = [];
  let i = 0;
  while (i < points.length) {
    const column = Math.floor(points[i]![0]);
    let j = i;
    let low = i;
    let high = i;
    while (j < points.length && Math.floor(points[j]![0]) === column) {
      if (points[j]![1] < points[low]![1]) low = j;
      if (points[j]![1] > points[high]![1]) high = j;
      j++;
    }
    for (const k of [...new Set([i, low, high, j - 1])].sort((a, b) => a - b)) out.push(points[k]!);
    i = j;
  }
  return out;
}

function pointsToPath(points: readonly Point[]): string {
  return points.map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${num(px)},${num(py)}`).join(' ');
}

/** The line of a series; a lone point is drawn as a round dot (a zero-length segment). */
function linePath(segments: readonly Point[][]): string {
  return segments.map((segment) => (segment.length === 1 ? `${pointsToPath(segment)} l0,0` : pointsToPath(segment))).join(' ');
}

/** The filled area under a series: one polygon per segment of two or more points. */
function areaPath(segments: readonly Point[][], base: number): string {
  return segments
    .filter((segment) => segment.length > 1)
    .map(
      (segment) =>
        `M${num(segment[0]![0])},${num(base)} ${pointsToPath(segment).replace(/^M/, 'L')} L${num(segment[segment.length - 1]![0])},${num(base)} Z`,
    )
    .join(' ');
}

/** Contiguous panic seconds as [start, end] in seconds, each row covering t ± 0.5, clipped to the axis. */
export function panicSpans(rows: readonly TimelineRow[], xMin: number, xMax: number): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (const row of rows) {
    if (!row.panic || !finite(row.t)) continue;
    const start = Math.max(xMin, row.t - 0.5);
    const end = Math.min(xMax, row.t + 0.5);
    if (end <= start) continue;
    const last = spans[spans.length - 1];
    if (last !== undefined && start <= last[1] + 1e-9) last[1] = Math.max(last[1], end);
    else spans.push([start, end]);
  }
  return spans;
}

function approxTextWidth(text: string, fontSize: number): number {
  return text.length * fontSize * 0.58;
}

function legendSwatch(kind: 'line' | 'area' | 'step' | 'shade', color: string, dash: string | undefined): string {
  if (kind === 'shade')
    return `<rect x="0" y="-9" width="22" height="11" fill="${color}" fill-opacity="${PANIC.opacity * 2}" stroke="${color}" stroke-opacity="0.5"/>`;
  const fill = kind === 'area' ? `<rect x="0" y="-6" width="22" height="8" fill="${color}" fill-opacity="0.3"/>` : '';
  const dashAttr = dash !== undefined ? ` stroke-dasharray="${dash}"` : '';
  return `${fill}<line x1="0" y1="-4" x2="22" y2="-4" stroke="${color}" stroke-width="2.2"${dashAttr} stroke-linecap="round"/>`;
}

function renderPanel(panel: PanelSpec, timeline: Timeline, scales: Scales, frame: Frame, top: number, isLast: boolean): string {
  const { plotWidth, panelHeight } = frame;
  const panelScales = scales.panels[panel.id];
  const yLeft = yOf(panelScales.left, panelHeight);
  const yRight = panelScales.right !== undefined ? yOf(panelScales.right, panelHeight) : undefined;
  const rows = timeline.rows;
  const present = panel.series.filter((s) => !s.optional || rows.some((r) => finite(s.value(r))));
  const out: string[] = [];
  out.push(`<g class="panel" data-panel="${panel.id}" transform="translate(${MARGIN.left},${top})">`);

  // Header: panel title then the legend.
  out.push(`<text class="panel-title" x="0" y="-14" font-size="13" font-weight="bold" fill="${TEXT}">${escapeXml(panel.title)}</text>`);
  let lx = approxTextWidth(panel.title, 13) * 1.15 + 24; // bold text runs wider than the estimate
  out.push('<g class="legend">');
  const legendItems: Array<{ key: string; label: string; swatch: string }> = present.map((s) => ({
    key: s.key,
    label: s.label,
    swatch: legendSwatch(s.kind, s.color, s.dash),
  }));
  if (panel.id === 'pods') legendItems.push({ key: PANIC.key, label: PANIC.label, swatch: legendSwatch('shade', PANIC.color, undefined) });
  for (const item of legendItems) {
    out.push(
      `<g class="legend-item" data-series="${item.key}" transform="translate(${num(lx)},-10)">${item.swatch}<text x="28" y="0" font-size="12" fill="${TEXT}">${escapeXml(item.label)}</text></g>`,
    );
    lx += 28 + approxTextWidth(item.label, 12) + 16;
  }
  out.push('</g>');

  // Grid and y axes.
  const left = panelScales.left;
  for (const v of left.ticks) {
    const py = num(yLeft(v));
    out.push(
      `<g class="y-tick" data-axis="left" data-value="${v}" transform="translate(0,${py})"><line x1="0" x2="${num(plotWidth)}" stroke="${GRID}"/><line x1="-4" x2="0" stroke="${AXIS}"/><text x="-7" y="4" text-anchor="end" font-size="11" fill="${TEXT}">${formatTick(v, left.step)}</text></g>`,
    );
  }
  if (panelScales.right !== undefined && yRight !== undefined) {
    const right = panelScales.right;
    for (const v of right.ticks) {
      out.push(
        `<g class="y-tick" data-axis="right" data-value="${v}" transform="translate(${num(plotWidth)},${num(yRight(v))})"><line x1="0" x2="4" stroke="${AXIS}"/><text x="7" y="4" text-anchor="start" font-size="11" fill="${TEXT}">${formatTick(v, right.step)}</text></g>`,
      );
    }
  }
  const midY = num(panelHeight / 2);
  if (panel.axisLabel.left !== undefined)
    out.push(
      `<text class="axis-label" transform="translate(-50,${midY}) rotate(-90)" text-anchor="middle" font-size="11" fill="${TEXT}">${escapeXml(panel.axisLabel.left)}</text>`,
    );
  if (panel.axisLabel.right !== undefined && panelScales.right !== undefined)
    out.push(
      `<text class="axis-label" transform="translate(${num(plotWidth + 50)},${midY}) rotate(90)" text-anchor="middle" font-size="11" fill="${TEXT}">${escapeXml(panel.axisLabel.right)}</text>`,
    );

  // Panic shading under the data.
  if (panel.id === 'pods') {
    for (const [start, end] of panicSpans(rows, scales.x.min, scales.x.max)) {
      const x0 = frame.x(start);
      out.push(
        `<rect class="panic" x="${num(x0)}" y="0" width="${num(frame.x(end) - x0)}" height="${num(panelHeight)}" fill="${PANIC.color}" fill-opacity="${PANIC.opacity}"/>`,
      );
    }
  }

  // Series.
  for (const s of present) {
    const y = s.axis === 'right' && yRight !== undefined ? yRight : yLeft;
    const segments = seriesSegments(rows, s, frame, y, scales.x.max);
    if (segments.length === 0) continue;
    if (s.kind === 'area') {
      const scale = s.axis === 'right' && panelScales.right !== undefined ? panelScales.right : left;
      const d = areaPath(segments, y(Math.max(scale.min, 0)));
      if (d !== '') out.push(`<path class="area" data-series="${s.key}" d="${d}" fill="${s.color}" fill-opacity="0.3" stroke="none"/>`);
    }
    const dashAttr = s.dash !== undefined ? ` stroke-dasharray="${s.dash}"` : '';
    out.push(
      `<path class="series" data-series="${s.key}" d="${linePath(segments)}" fill="none" stroke="${s.color}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"${dashAttr}/>`,
    );
  }

  // Frame and x axis.
  out.push(`<rect x="0" y="0" width="${num(plotWidth)}" height="${num(panelHeight)}" fill="none" stroke="${AXIS}"/>`);
  const xStep = scales.x.ticks.length > 1 ? scales.x.ticks[1]! - scales.x.ticks[0]! : 1;
  for (const t of scales.x.ticks) {
    out.push(
      `<g class="x-tick" data-value="${t}" transform="translate(${num(frame.x(t))},${num(panelHeight)})"><line y1="0" y2="4" stroke="${AXIS}"/><text y="16" text-anchor="middle" font-size="11" fill="${TEXT}">${formatTick(t, xStep)}</text></g>`,
    );
  }
  if (isLast)
    out.push(
      `<text class="axis-label" x="${num(plotWidth / 2)}" y="${num(panelHeight + 34)}" text-anchor="middle" font-size="12" fill="${TEXT}">time (s)</text>`,
    );
  if (rows.length === 0)
    out.push(`<text x="${num(plotWidth / 2)}" y="${midY}" text-anchor="middle" font-size="13" fill="${AXIS}">no data</text>`);
  out.push('</g>');
  return out.join('\n');
}

/** Greedy word wrap to at most `width` characters per line (longer words stay whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter((w) => w !== '')) {
      if (line === '') line = word;
      else if (line.length + 1 + word.length <= width) line += ` ${word}`;
      else {
        lines.push(line);
        line = word;
      }
    }
    lines.push(line);
  }
  return lines;
}

function summary(rows: readonly TimelineRow[]): string {
  const sum = (f: (r: TimelineRow) => number) => rows.reduce((acc, r) => acc + (finite(f(r)) ? f(r) : 0), 0);
  const max = (f: (r: TimelineRow) => number) => rows.reduce((acc, r) => (finite(f(r)) && f(r) > acc ? f(r) : acc), 0);
  const panicSeconds = rows.filter((r) => r.panic).length;
  return [
    `${rows.length} s`,
    `produced ${sum((r) => r.produced)}`,
    `delivered ${sum((r) => r.delivered)}`,
    `max lag ${max((r) => r.lag)} (${max((r) => r.lagSeconds)} s)`,
    `503s ${sum((r) => r.rejected503)}`,
    `dead-lettered ${sum((r) => r.deadLettered)}`,
    `skipped ${sum((r) => r.skipped)}`,
    `panic ${panicSeconds} s`,
  ].join(' · ');
}

interface Column {
  body: string;
  height: number;
}

function renderColumn(timeline: Timeline, scales: Scales, width: number, panelHeight: number, index: number): Column {
  const plotWidth = Math.max(50, width - MARGIN.left - MARGIN.right);
  const span = scales.x.max - scales.x.min || 1;
  const frame: Frame = { plotWidth, panelHeight, x: (t) => ((t - scales.x.min) / span) * plotWidth };
  const out: string[] = [];
  out.push(`<g class="column" data-column="${index}" transform="translate(${index * width},0)">`);
  out.push(
    `<text class="title" x="${MARGIN.left}" y="28" font-size="17" font-weight="bold" fill="${TEXT}">${escapeXml(timeline.title)}</text>`,
  );
  // The summary wraps to at most two lines so that every column keeps the same panel positions.
  const summaryLines = wrap(summary(timeline.rows), Math.max(20, Math.floor((width - MARGIN.left - 16) / 6.6))).slice(0, 2);
  summaryLines.forEach((line, i) => {
    out.push(`<text class="summary" x="${MARGIN.left}" y="${48 + i * 15}" font-size="12" fill="${AXIS}">${escapeXml(line)}</text>`);
  });
  PANELS.forEach((panel, i) => {
    out.push(renderPanel(panel, timeline, scales, frame, TOP + i * (panelHeight + PANEL_GAP), i === PANELS.length - 1));
  });
  let y = TOP + PANELS.length * panelHeight + (PANELS.length - 1) * PANEL_GAP + 62;
  const notes = (timeline.notes ?? []).flatMap((note) => wrap(note, Math.max(20, Math.floor((width - MARGIN.left - 16) / 6.6))));
  if (notes.length > 0) {
    out.push(`<g class="notes" font-size="12" fill="${TEXT}">`);
    for (const line of notes) {
      out.push(`<text x="${MARGIN.left}" y="${y}">${escapeXml(line)}</text>`);
      y += LINE;
    }
    out.push('</g>');
  }
  out.push('</g>');
  return { body: out.join('\n'), height: y - LINE + 20 };
}

function svgDocument(title: string, width: number, height: number, body: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="${escapeXml(FONT)}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect class="background" x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    body,
    '</svg>',
    '',
  ].join('\n');
}

/** One timeline: the records, concurrency and pods panels stacked on one time axis. */
export function renderTimelineSvg(timeline: Timeline, options: RenderOptions = {}): string {
  const width = Math.round(options.width ?? 900);
  const panelHeight = options.panelHeight ?? 150;
  const column = renderColumn(timeline, computeScales([timeline]), width, panelHeight, 0);
  return svgDocument(timeline.title, width, Math.ceil(column.height), column.body);
}

/**
 * Two timelines side by side; each panel row shares its y scales (and the time axis) across both
 * columns, so equal values sit at equal heights.
 */
export function renderComparisonSvg(left: Timeline, right: Timeline, options: RenderOptions = {}): string {
  const width = Math.round(options.width ?? 700);
  const panelHeight = options.panelHeight ?? 150;
  const scales = computeScales([left, right]);
  const columns = [renderColumn(left, scales, width, panelHeight, 0), renderColumn(right, scales, width, panelHeight, 1)];
  const height = Math.ceil(Math.max(...columns.map((c) => c.height)));
  const separator = `<line class="separator" x1="${width}" y1="10" x2="${width}" y2="${height - 10}" stroke="${GRID}"/>`;
  return svgDocument(`${left.title} vs ${right.title}`, 2 * width, height, [columns[0]!.body, separator, columns[1]!.body].join('\n'));
}
