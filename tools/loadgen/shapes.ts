/**
 * The load's rate schedule as pure functions of the time since the start: how many messages are due
 * by time t, and when message i is due. The pacer only ever asks these from the start time, so a late
 * tick never shifts the later ones (no drift accumulates).
 */
export type Shape =
  | { kind: 'burst'; concurrency: number; durationS: number }
  | { kind: 'constant'; rate: number; durationS: number }
  | { kind: 'ramp'; from: number; to: number; durationS: number }
  | { kind: 'step'; steps: Array<{ rate: number; durationS: number }> };

export interface Schedule {
  readonly shape: Shape;
  /** Every message the schedule sends. */
  readonly total: number;
  /** Milliseconds from the first message's time to the schedule's end. */
  readonly durationMs: number;
  /** Messages due by `tMs` after the start (message i is due when its time is ≤ tMs). */
  dueBy(tMs: number): number;
  /** When message `i` (0-based, i < total) is due, in ms after the start. */
  timeOf(i: number): number;
}

// Float slack so that rate × duration = 600.0000000001 still counts 600 messages.
const EPS = 1e-9;

/** Messages i = 0, 1, … at i / rate, while i / rate < duration: ceil(rate × duration) of them. */
function evenCount(rate: number, durationS: number): number {
  return rate <= 0 || durationS <= 0 ? 0 : Math.ceil(rate * durationS - EPS);
}

function evenDue(rate: number, count: number, tMs: number): number {
  if (tMs < 0 || count === 0) return 0;
  return Math.min(count, Math.floor((rate * tMs) / 1000 + EPS) + 1);
}

export function scheduleOf(shape: Shape): Schedule {
  switch (shape.kind) {
    case 'burst': {
      // The article: every second, `concurrency` messages at once; bursts at 0, 1, …, ceil(T) − 1 s.
      const bursts = Math.ceil(shape.durationS - EPS);
      const total = shape.concurrency * bursts;
      return {
        shape,
        total,
        durationMs: shape.durationS * 1000,
        dueBy: (t) => (t < 0 ? 0 : shape.concurrency * Math.min(bursts, Math.floor(t / 1000 + EPS) + 1)),
        timeOf: (i) => Math.floor(i / shape.concurrency) * 1000,
      };
    }
    case 'constant': {
      const total = evenCount(shape.rate, shape.durationS);
      return {
        shape,
        total,
        durationMs: shape.durationS * 1000,
        dueBy: (t) => evenDue(shape.rate, total, t),
        timeOf: (i) => (i * 1000) / shape.rate,
      };
    }
    case 'ramp': {
      // The rate goes linearly from `from` to `to` over D s; N(t) = from·t + (to − from)·t²/(2D)
      // messages have come due by t, message i at the first t where N(t) ≥ i.
      const { from, to, durationS: d } = shape;
      const slope = (to - from) / d;
      const n = (tS: number) => from * tS + (slope * tS * tS) / 2;
      const total = Math.max(0, Math.ceil(n(d) - EPS));
      const timeOf = (i: number) => {
        if (i <= 0) return 0;
        // Solve slope/2·t² + from·t − i = 0 for the positive root (stable form).
        const tS = Math.abs(slope) < EPS ? i / from : (2 * i) / (from + Math.sqrt(from * from + 2 * slope * i));
        return tS * 1000;
      };
      return {
        shape,
        total,
        durationMs: d * 1000,
        dueBy: (t) => (t < 0 || total === 0 ? 0 : Math.min(total, Math.floor(n(Math.min(t / 1000, d)) + EPS) + 1)),
        timeOf,
      };
    }
    case 'step': {
      // Each step is its own constant load starting where the previous one ended.
      const segments: Array<{ rate: number; startMs: number; count: number; first: number }> = [];
      let startMs = 0;
      let first = 0;
      for (const step of shape.steps) {
        const count = evenCount(step.rate, step.durationS);
        segments.push({ rate: step.rate, startMs, count, first });
        startMs += step.durationS * 1000;
        first += count;
      }
      return {
        shape,
        total: first,
        durationMs: startMs,
        dueBy: (t) => segments.reduce((sum, s) => sum + evenDue(s.rate, s.count, t - s.startMs), 0),
        timeOf: (i) => {
          const s = segments.findLast((seg) => seg.count > 0 && seg.first <= i) ?? segments[0]!;
          return s.startMs + ((i - s.first) * 1000) / s.rate;
        },
      };
    }
  }
}

/** `50:30,200:30,50:30` → rate 50 for 30 s, 200 for 30 s, 50 for 30 s; a string says what is wrong. */
export function parseSteps(text: string): Array<{ rate: number; durationS: number }> | string {
  const steps: Array<{ rate: number; durationS: number }> = [];
  for (const part of text.split(',')) {
    const match = /^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (!match) return `"${part}" is not rate:seconds (e.g. 50:30,200:30,50:30)`;
    const rate = Number(match[1]);
    const durationS = Number(match[2]);
    if (durationS <= 0) return `"${part}": the seconds must be > 0`;
    steps.push({ rate, durationS });
  }
  return steps;
}

export function describeShape(shape: Shape): string {
  switch (shape.kind) {
    case 'burst':
      return `burst: ${shape.concurrency} messages at once every second for ${shape.durationS} s`;
    case 'constant':
      return `constant: ${shape.rate} messages/s for ${shape.durationS} s`;
    case 'ramp':
      return `ramp: ${shape.from} → ${shape.to} messages/s over ${shape.durationS} s`;
    case 'step':
      return `step: ${shape.steps.map((s) => `${s.rate}/s for ${s.durationS} s`).join(', then ')}`;
  }
}
