/**
 * Durations as KafkaSource and the ASK annotations write them.
 * Both return milliseconds, or undefined when the text is not a duration, so callers can name the
 * field in their own error.
 */

const ISO_DURATION =
  /^P(?!$)(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?=\d)(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;

// Years and months have no fixed length; Knative's parser (java.time / go-iso8601) treats them as
// 365 and 30 days, and so do we. Nobody sets a retry delay in months.
const UNIT_MS = [365 * 86_400_000, 30 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000];

/** ISO-8601 duration such as `PT0.3S`, `PT10M`, `P1DT2H` → milliseconds. */
export function parseIsoDuration(text: string): number | undefined {
  const match = ISO_DURATION.exec(text.trim());
  if (!match) return undefined;
  let ms = 0;
  for (let i = 0; i < UNIT_MS.length; i++) {
    const part = match[i + 1];
    if (part !== undefined) ms += Number(part) * UNIT_MS[i]!;
  }
  return Math.round(ms);
}

/** Seconds as the ASK annotations write them: `60`, `2`, `0.5` → milliseconds. */
export function parseSeconds(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^\d+(?:\.\d+)?$|^\.\d+$/.test(trimmed)) return undefined;
  return Math.round(Number(trimmed) * 1000);
}

/** Milliseconds → ISO-8601, for printing resolved configuration the way KafkaSource writes it. */
export function formatIsoDuration(ms: number): string {
  return `PT${Number((ms / 1000).toFixed(3))}S`;
}

/** A duration limit as a message states it, in both ways a user writes durations: `24 h (86400 s)`. */
export function formatDurationLimit(ms: number): string {
  const seconds = ms / 1000;
  const [size, unit] =
    ms % 86_400_000 === 0 && ms >= 2 * 86_400_000
      ? [ms / 86_400_000, 'days']
      : ms % 3_600_000 === 0
        ? [ms / 3_600_000, 'h']
        : ms % 60_000 === 0
          ? [ms / 60_000, 'min']
          : [seconds, 's'];
  return unit === 's' ? `${seconds} s` : `${size} ${unit} (${seconds} s)`;
}
