import { describe, expect, it } from 'vitest';
import { ARTICLE_VALUE, articleValue, nanosecondClock } from '../../../tools/loadgen/article.js';
import { plainLine, progressLine } from '../../../tools/loadgen/progress.js';

const ARTICLE_JSON =
  '{"id":12182,"template_name":"template_media/videos/templates/8f3a5f293149095aa62958029e208501_1606889936.zip","width":360,"height":640}';

describe('the article’s message', () => {
  it('message 0 is the article’s value byte for byte; the id counts up per message', () => {
    expect(articleValue(0)).toBe(ARTICLE_JSON);
    expect(JSON.stringify(ARTICLE_VALUE)).toBe(ARTICLE_JSON);
    expect(JSON.parse(articleValue(7))).toEqual({ ...ARTICLE_VALUE, id: 12189 });
    expect(articleValue(7)).toBe(ARTICLE_JSON.replace('12182', '12189'));
  });

  it('--value-bytes pads to exactly N bytes with a "pad" field; a smaller N changes nothing', () => {
    for (const n of [200, 1024, 4096]) {
      const value = articleValue(3, n);
      expect(Buffer.byteLength(value)).toBe(n);
      expect(JSON.parse(value)).toMatchObject({ ...ARTICLE_VALUE, id: 12185 });
    }
    expect(articleValue(0, 10)).toBe(ARTICLE_JSON);
    expect(articleValue(0, ARTICLE_JSON.length + 9)).toBe(`${ARTICLE_JSON.slice(0, -1)},"pad":""}`);
  });

  it('the key is a nanosecond wall-clock timestamp: Date.now() × 10⁶ plus hrtime’s progress, strictly increasing', () => {
    let hr = 5_000_000_123n;
    const clock = nanosecondClock(
      () => 1_764_000_000_000,
      () => hr,
    );
    expect(clock()).toBe(1_764_000_000_000_000_000n);
    hr += 1234n;
    expect(clock()).toBe(1_764_000_000_000_001_234n);
    // The same hrtime twice (or backwards) still gives a new key.
    expect(clock()).toBe(1_764_000_000_000_001_235n);
    hr -= 10n;
    expect(clock()).toBe(1_764_000_000_000_001_236n);
    const real = nanosecondClock();
    const key = String(real());
    expect(key).toMatch(/^\d{19}$/);
    expect(Math.abs(Number(BigInt(key) / 1_000_000n) - Date.now())).toBeLessThan(5000);
  });
});

describe('loadgen progress', () => {
  it('a bar for terminals, a plain line for logs', () => {
    const state = { sent: 1250, failed: 0, target: 5000, elapsedMs: 25_000, totalMs: 100_000 };
    expect(progressLine(state, 8)).toBe('[##......] 1250/5000  50.0 msg/s  25.0/100 s');
    expect(progressLine({ ...state, failed: 3 }, 8)).toContain('(3 failed)');
    expect(plainLine(state)).toBe('  25 s  sent 1250/5000  failed 0  50.0 msg/s');
    expect(progressLine({ ...state, sent: 0, elapsedMs: 0 }, 4)).toBe('[....] 0/5000  0.0 msg/s  0.0/100 s');
  });
});
