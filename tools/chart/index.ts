/** The timeline chart renderer (developer tooling for the simulator): SVG panels, CSV and JSON. */
export type { Timeline, TimelineRow } from './timeline.js';
export {
  renderTimelineSvg,
  renderComparisonSvg,
  escapeXml,
  panicSpans,
  reduceToPixels,
  PALETTE,
  type RenderOptions,
  type PanelId,
} from './render.js';
export { timelineToCsv, timelineToJson, CSV_COLUMNS } from './export.js';
export { syntheticTimeline, type SyntheticOptions } from './synthetic.js';
export { niceStep, niceScale, niceTicksWithin, formatTick, type NiceScale } from './ticks.js';
