/**
 * The article's message: a video-processing job as the value, a nanosecond timestamp as the key
 * ("a Go producer (sarama) sends 50 messages concurrently every second for 100 seconds").
 */
export const ARTICLE_ID = 12182;
export const ARTICLE_VALUE = {
  id: ARTICLE_ID,
  template_name: 'template_media/videos/templates/8f3a5f293149095aa62958029e208501_1606889936.zip',
  width: 360,
  height: 640,
} as const;

/**
 * Message i's value: the article's JSON with id = 12182 + i (so each record can be told apart), in
 * the article's field order. With `valueBytes` larger than that, a `"pad"` field of spaces makes the
 * value exactly `valueBytes` long; a smaller size leaves the value as it is.
 */
export function articleValue(i: number, valueBytes = 0): string {
  const json = JSON.stringify({ ...ARTICLE_VALUE, id: ARTICLE_ID + i });
  const room = valueBytes - json.length - ',"pad":""'.length;
  return room < 0 ? json : `${json.slice(0, -1)},"pad":"${' '.repeat(room)}"}`;
}

/**
 * A wall clock in nanoseconds since the epoch: Date.now() once, then process.hrtime's progress, so
 * keys have ns resolution; strictly increasing, so two keys of one process never collide.
 */
export function nanosecondClock(wallMs: () => number = Date.now, hrtime: () => bigint = process.hrtime.bigint): () => bigint {
  const wall0 = BigInt(wallMs()) * 1_000_000n;
  const hr0 = hrtime();
  let last = 0n;
  return () => {
    const now = wall0 + (hrtime() - hr0);
    last = now > last ? now : last + 1n;
    return last;
  };
}
