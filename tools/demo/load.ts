import type { Producer } from 'kafkajs';

/** The article's record: a video-processing job. Its key is a nanosecond timestamp. */
export const ARTICLE_VALUE =
  '{"id":12182,"template_name":"template_media/videos/templates/8f3a5f293149095aa62958029e208501_1606889936.zip","width":360,"height":640}';

export interface LoadOptions {
  producer: Producer;
  topic: string;
  /** Messages per second. */
  rate: number;
  durationSeconds: number;
  signal?: AbortSignal;
  onSent?: (count: number) => void;
}

/**
 * The article's load: every second, `rate` messages sent concurrently, for `durationSeconds`
 * seconds. Resolves with the number of messages the broker acknowledged.
 */
export async function produceLoad(options: LoadOptions): Promise<number> {
  let sent = 0;
  const start = Date.now();
  for (let second = 0; second < options.durationSeconds; second++) {
    if (options.signal?.aborted) break;
    const now = BigInt(Date.now()) * 1_000_000n;
    const messages = Array.from({ length: options.rate }, (_, j) => ({ key: String(now + BigInt(j)), value: ARTICLE_VALUE }));
    await options.producer.send({ topic: options.topic, messages });
    sent += messages.length;
    options.onSent?.(sent);
    const wait = start + (second + 1) * 1000 - Date.now();
    if (wait > 0 && second + 1 < options.durationSeconds) await sleep(wait, options.signal);
  }
  return sent;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
