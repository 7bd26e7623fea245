import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import {
  CSV_COLUMNS,
  escapeXml,
  panicSpans,
  reduceToPixels,
  renderComparisonSvg,
  renderTimelineSvg,
  syntheticTimeline,
  timelineToCsv,
  timelineToJson,
  type Timeline,
  type TimelineRow,
} from '../../../tools/chart/index.js';
import { deepText, descendants, findAll, parseXml, type XmlElement } from './xml.js';

function row(t: number, overrides: Partial<TimelineRow> = {}): TimelineRow {
  return {
    t,
    produced: 10,
    delivered: 10,
    lag: 0,
    lagSeconds: 0,
    inFlight: 2,
    podsReady: 1,
    podsDesired: 1,
    panic: false,
    rejected503: 0,
    deadLettered: 0,
    skipped: 0,
    ...overrides,
  };
}

const byClass = (root: XmlElement, cls: string) => findAll(root, (e) => (e.attrs.class ?? '').split(' ').includes(cls));
const panels = (root: XmlElement) => byClass(root, 'panel');
const panel = (root: XmlElement, id: string) => panels(root).find((p) => p.attrs['data-panel'] === id)!;
const legendKeys = (p: XmlElement) => byClass(p, 'legend-item').map((e) => e.attrs['data-series']);
const series = (p: XmlElement, key: string) => byClass(p, 'series').find((e) => e.attrs['data-series'] === key);

/** The points of a path's M/L commands. */
function points(d: string): Array<[number, number]> {
  return [...d.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

function translateY(e: XmlElement): number {
  const m = /translate\((-?[\d.]+),(-?[\d.]+)\)/.exec(e.attrs.transform ?? '');
  return Number(m?.[2]);
}

describe('parseXml (the tests’ well-formedness check)', () => {
  it.each(['<a><b></a>', '<a>x & y</a>', '<a>1 < 2</a>', '<a x=1/>', '<a x="1" x="2"/>', '<a/><b/>', '<a>', 'text', '<a title="a<b"/>'])(
    'rejects %s',
    (source) => {
      expect(() => parseXml(source)).toThrow();
    },
  );

  it('accepts and decodes a small document', () => {
    const root = parseXml('<?xml version="1.0"?><!-- c --><a k="&quot;&amp;"><b>x &lt; y &#38; z</b><c/></a>\n');
    expect(root.attrs.k).toBe('"&');
    expect(root.children.map((c) => c.name)).toEqual(['b', 'c']);
    expect(root.children[0]!.text).toBe('x < y & z');
  });
});

describe('renderTimelineSvg', () => {
  const timeline = syntheticTimeline({ title: 'Burst <A&B> "quoted" \'single\'' });
  const svg = renderTimelineSvg(timeline);
  const root = parseXml(svg);

  it('is a standalone, well-formed SVG document with a viewBox and no scripts or external resources', () => {
    expect(root.name).toBe('svg');
    expect(root.attrs.xmlns).toBe('http://www.w3.org/2000/svg');
    expect(root.attrs.viewBox).toMatch(/^0 0 900 \d+$/);
    const names = new Set(descendants(root).map((e) => e.name));
    expect(names.has('script')).toBe(false);
    expect(names.has('image')).toBe(false);
    expect(names.has('foreignObject')).toBe(false);
    expect(svg).not.toMatch(/href|@import|url\(/);
  });

  it('escapes the title', () => {
    expect(svg).toContain('Burst &lt;A&amp;B&gt; &quot;quoted&quot; &apos;single&apos;');
    expect(svg).not.toContain('<A&B>');
    expect(root.children.find((c) => c.name === 'title')!.text).toBe(timeline.title);
    expect(byClass(root, 'title')[0]!.text).toBe(timeline.title);
  });

  it('has the three panels in order, stacked, each with its legend', () => {
    expect(panels(root).map((p) => p.attrs['data-panel'])).toEqual(['records', 'concurrency', 'pods']);
    const tops = panels(root).map(translateY);
    expect(tops[0]! < tops[1]! && tops[1]! < tops[2]!).toBe(true);
    expect(legendKeys(panel(root, 'records'))).toEqual(['lag', 'produced', 'delivered']);
    expect(legendKeys(panel(root, 'concurrency'))).toEqual(['inFlight', 'inFlightLimit', 'demand']);
    expect(legendKeys(panel(root, 'pods'))).toEqual(['podsReady', 'podsDesired', 'panic']);
    const legendText = byClass(root, 'legend-item').map(deepText);
    expect(legendText).toEqual(
      expect.arrayContaining([
        'lag (left axis)',
        'produced / s',
        'delivered / s',
        'in flight',
        'in-flight limit',
        'demand',
        'ready',
        'desired',
        'panic mode',
      ]),
    );
  });

  it('draws the limit dashed, the demand dotted and desired pods as a step line', () => {
    const concurrency = panel(root, 'concurrency');
    expect(series(concurrency, 'inFlight')!.attrs['stroke-dasharray']).toBeUndefined();
    expect(series(concurrency, 'inFlightLimit')!.attrs['stroke-dasharray']).toBe('7 4');
    expect(series(concurrency, 'demand')!.attrs['stroke-dasharray']).toBe('1.5 3');
    const desired = points(series(panel(root, 'pods'), 'podsDesired')!.attrs.d!);
    // A step line moves horizontally then vertically: consecutive points share x or y.
    for (let i = 1; i < desired.length; i++) {
      const [a, b] = [desired[i - 1]!, desired[i]!];
      expect(a[0] === b[0] || a[1] === b[1]).toBe(true);
    }
  });

  it('shades the panic periods', () => {
    const spans = panicSpans(timeline.rows, 0, timeline.rows.length - 1);
    expect(spans.length).toBeGreaterThan(0);
    expect(byClass(panel(root, 'pods'), 'panic')).toHaveLength(spans.length);
  });

  it('puts nice ticks on the axes and the notes under the panels', () => {
    const ticks = byClass(panel(root, 'records'), 'y-tick').filter((e) => e.attrs['data-axis'] === 'left');
    const values = ticks.map((e) => Number(e.attrs['data-value']));
    expect(values[0]).toBe(0);
    const step = values[1]! - values[0]!;
    expect(values.every((v, i) => Math.abs(v - i * step) < 1e-9)).toBe(true);
    expect(Math.max(...timeline.rows.map((r) => r.lag))).toBeLessThanOrEqual(values.at(-1)!);
    const xTicks = byClass(panel(root, 'pods'), 'x-tick').map((e) => deepText(e));
    expect(xTicks).toEqual(['0', '20', '40', '60', '80', '100']);
    expect(deepText(byClass(root, 'notes')[0]!)).toContain('Synthetic data');
  });

  it('leaves out the optional series when no row has them', () => {
    const plain = parseXml(renderTimelineSvg({ title: 'plain', rows: [row(0), row(1), row(2)] }));
    expect(legendKeys(panel(plain, 'concurrency'))).toEqual(['inFlight']);
    expect(series(panel(plain, 'concurrency'), 'inFlightLimit')).toBeUndefined();
  });

  it('breaks a line where an optional value is missing', () => {
    const gappy = parseXml(
      renderTimelineSvg({
        title: 'gaps',
        rows: [row(0, { demand: 1 }), row(1, { demand: 2 }), row(2), row(3, { demand: 3 }), row(4, { demand: 4 })],
      }),
    );
    const d = series(panel(gappy, 'concurrency'), 'demand')!.attrs.d!;
    expect(d.match(/M/g)).toHaveLength(2);
  });

  it('does not crash on an empty timeline', () => {
    const empty = renderTimelineSvg({ title: 'empty', rows: [] });
    const r = parseXml(empty);
    expect(panels(r)).toHaveLength(3);
    expect(empty).toContain('no data');
    expect(empty).not.toContain('NaN');
    expect(empty).not.toContain('Infinity');
  });

  it('draws a single-row timeline with visible marks', () => {
    const single = renderTimelineSvg({ title: 'one', rows: [row(5, { panic: true, inFlightLimit: 4 })], notes: ['only one second'] });
    const r = parseXml(single);
    expect(single).not.toMatch(/NaN|Infinity/);
    expect(series(panel(r, 'records'), 'produced')!.attrs.d).toMatch(/^M[\d.]+,[\d.]+ l0,0$/);
    expect(points(series(panel(r, 'pods'), 'podsDesired')!.attrs.d!)).toHaveLength(2);
    expect(byClass(panel(r, 'pods'), 'panic')).toHaveLength(1);
  });

  it('renders a day-long run (more rows than a call takes arguments)', () => {
    const rows = Array.from({ length: 200_000 }, (_, t) => row(t, { lag: t % 1000 }));
    const svg = renderTimelineSvg({ title: 'long', rows });
    const r = parseXml(svg);
    expect(byClass(panel(r, 'pods'), 'x-tick').length).toBeGreaterThan(2);
    // Reduced to about four points per pixel column, not 200,000 per series.
    expect(svg.length).toBeLessThan(500_000);
    const lag = points(series(panel(r, 'records'), 'lag')!.attrs.d!);
    expect(Math.min(...lag.map((p) => p[1]))).toBeCloseTo(0.15, 2); // the peaks (999 on a 0-1000 scale) survive the reduction
  });

  it('survives hostile text and non-finite values', () => {
    const svg = renderTimelineSvg({
      title: ']]> <!-- --> <script>alert(1)</script> \u0001',
      rows: [row(0, { lag: Number.NaN }), row(1, { lag: Number.POSITIVE_INFINITY }), row(2, { lag: 5 })],
      notes: ['a & b < c', ''],
    });
    const r = parseXml(svg);
    expect(findAll(r, (e) => e.name === 'script')).toHaveLength(0);
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it('writes an example to build/chart-example.svg', () => {
    const build = new URL('../../../build/', import.meta.url);
    mkdirSync(build, { recursive: true });
    writeFileSync(new URL('chart-example.svg', build), renderTimelineSvg(syntheticTimeline()));
    const slow = syntheticTimeline({ title: 'Slower pods: 30 rec/s each', podThroughput: 30 });
    writeFileSync(new URL('chart-example-comparison.svg', build), renderComparisonSvg(syntheticTimeline(), slow));
  });
});

describe('renderComparisonSvg', () => {
  const left: Timeline = { title: 'Left <run>', rows: [0, 1, 2, 3, 4, 5].map((t) => row(t, { inFlight: t === 3 ? 20 : 5, podsReady: 2 })) };
  const right: Timeline = {
    title: 'Right & co',
    rows: [0, 1, 2, 3, 4, 5].map((t) => row(t, { inFlight: t === 3 ? 20 : 200, podsReady: 2, podsDesired: 9, lag: 5000 })),
  };
  const svg = renderComparisonSvg(left, right);
  const root = parseXml(svg);
  const columns = byClass(root, 'column');

  it('has both titles, escaped, and two columns of three panels', () => {
    expect(columns).toHaveLength(2);
    expect(byClass(columns[0]!, 'title')[0]!.text).toBe('Left <run>');
    expect(byClass(columns[1]!, 'title')[0]!.text).toBe('Right & co');
    expect(svg).toContain('Left &lt;run&gt;');
    expect(svg).toContain('Right &amp; co');
    for (const c of columns) expect(panels(c).map((p) => p.attrs['data-panel'])).toEqual(['records', 'concurrency', 'pods']);
    expect(root.attrs.viewBox).toMatch(/^0 0 1400 \d+$/);
  });

  it('shares the scales of each panel row: equal values sit at equal pixels', () => {
    for (const id of ['records', 'concurrency', 'pods']) {
      const tickMap = (c: XmlElement) =>
        byClass(panel(c, id), 'y-tick').map((e) => [e.attrs['data-axis'], e.attrs['data-value'], e.attrs.transform]);
      expect(tickMap(columns[0]!)).toEqual(tickMap(columns[1]!));
      expect(translateY(panel(columns[0]!, id))).toBe(translateY(panel(columns[1]!, id)));
    }
    const inFlightAt3 = (c: XmlElement) => points(series(panel(c, 'concurrency'), 'inFlight')!.attrs.d!)[3]!;
    expect(inFlightAt3(columns[0]!)).toEqual(inFlightAt3(columns[1]!));
    const readyAt0 = (c: XmlElement) => points(series(panel(c, 'pods'), 'podsReady')!.attrs.d!)[0]!;
    expect(readyAt0(columns[0]!)).toEqual(readyAt0(columns[1]!));
    // The left run alone would use a smaller scale: the value would sit elsewhere.
    const alone = parseXml(renderTimelineSvg(left, { width: 700 }));
    expect(points(series(panel(alone, 'concurrency'), 'inFlight')!.attrs.d!)[3]).not.toEqual(inFlightAt3(columns[0]!));
  });
});

describe('timelineToCsv and timelineToJson', () => {
  const timeline = syntheticTimeline({ seconds: 30 });

  it('writes a header and one line per second, booleans as 0/1', () => {
    const lines = timelineToCsv(timeline).trimEnd().split('\n');
    expect(lines[0]).toBe(
      't,produced,delivered,lag,lagSeconds,inFlight,inFlightLimit,demand,podsReady,podsDesired,panic,rejected503,deadLettered,skipped',
    );
    expect(lines).toHaveLength(31);
    const panicColumn = CSV_COLUMNS.indexOf('panic');
    for (const [i, line] of lines.slice(1).entries()) {
      const cells = line.split(',');
      expect(cells).toHaveLength(CSV_COLUMNS.length);
      expect(cells[0]).toBe(String(timeline.rows[i]!.t));
      expect(cells[panicColumn]).toBe(timeline.rows[i]!.panic ? '1' : '0');
    }
    expect(lines.slice(1).some((l) => l.split(',')[panicColumn] === '1')).toBe(true);
  });

  it('leaves absent optional values empty and handles an empty timeline', () => {
    expect(timelineToCsv({ title: 'x', rows: [row(0)] }).split('\n')[1]).toBe('0,10,10,0,0,2,,,1,1,0,0,0,0');
    expect(timelineToCsv({ title: 'x', rows: [] })).toBe(`${CSV_COLUMNS.join(',')}\n`);
  });

  it('round-trips through JSON', () => {
    const parsed = JSON.parse(timelineToJson(timeline)) as Timeline;
    expect(parsed).toEqual(timeline);
    expect(JSON.parse(timelineToJson({ title: 't', rows: [] }))).toEqual({ title: 't', notes: [], rows: [] });
  });
});

describe('reduceToPixels', () => {
  it('keeps short segments as they are', () => {
    const pts: Array<[number, number]> = [
      [0, 1],
      [0.5, 2],
      [1, 3],
    ];
    expect(reduceToPixels(pts, 10)).toEqual(pts);
  });

  it('keeps the first, lowest, highest and last point of each pixel column, in order', () => {
    const pts = Array.from({ length: 1000 }, (_, i): [number, number] => [i / 100, (i * 37) % 101]);
    const reduced = reduceToPixels(pts, 10);
    expect(reduced.length).toBeLessThanOrEqual(40);
    for (let column = 0; column < 10; column++) {
      const inColumn = pts.filter((p) => Math.floor(p[0]) === column);
      const kept = reduced.filter((p) => Math.floor(p[0]) === column);
      expect(kept[0]).toEqual(inColumn[0]);
      expect(kept.at(-1)).toEqual(inColumn.at(-1));
      expect(Math.min(...kept.map((p) => p[1]))).toBe(Math.min(...inColumn.map((p) => p[1])));
      expect(Math.max(...kept.map((p) => p[1]))).toBe(Math.max(...inColumn.map((p) => p[1])));
    }
    expect(reduced.map((p) => p[0])).toEqual([...reduced.map((p) => p[0])].sort((a, b) => a - b));
  });
});

describe('escapeXml', () => {
  it('escapes the five XML specials and drops control characters', () => {
    expect(escapeXml(`<a & "b" 'c'>\u0000\u0007\tx`)).toBe('&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;\tx');
  });
});
