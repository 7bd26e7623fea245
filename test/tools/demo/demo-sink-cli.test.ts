import { describe, it, expect } from 'vitest';
import { request } from 'undici';
import { demoSinkCommand } from '../../../tools/commands/demo-sink.js';

function capture(): { write(text: string): boolean; text: () => string } {
  let buf = '';
  return { write: (t: string) => ((buf += t), true), text: () => buf };
}

describe('demo-sink command', () => {
  it.each([
    [['--port', '-1'], {}, /--port.*"-1"/],
    [['--latency-ms', 'abc'], {}, /--latency-ms.*"abc"/],
    [['--port', '70000'], {}, /--port.*"70000"/],
    [[], { DEMO_SINK_CONCURRENCY: '-2' }, /DEMO_SINK_CONCURRENCY.*"-2"/],
    [[], { DEMO_SINK_QUEUE_DEPTH: '1.5' }, /DEMO_SINK_QUEUE_DEPTH.*"1.5"/],
    [[], { PORT: 'http' }, /PORT.*"http"/],
    [['--bogus'], {}, /bogus/],
  ] as const)('%j %j → exit 2 naming the setting and value', async (argv, env, message) => {
    const stderr = capture();
    const code = await demoSinkCommand([...argv], { env: { ...env }, stderr, stdout: capture() });
    expect(code).toBe(2);
    expect(stderr.text()).toMatch(message);
  });

  it('listens, serves, and exits 0 when stopped', async () => {
    const stdout = capture();
    const controller = new AbortController();
    const running = demoSinkCommand(['--port', '0', '--latency-ms', '1'], {
      env: { DEMO_SINK_CONCURRENCY: '2', LOG_LEVEL: 'silent' },
      signal: controller.signal,
      stdout,
      stderr: capture(),
    });
    while (!stdout.text().includes('listening')) await new Promise((r) => setTimeout(r, 10));
    const url = /demo sink listening on (http:\/\/\S+)/.exec(stdout.text())?.[1];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await request(`${url}/predict?query=music`);
    expect(await res.body.text()).toBe('PlayMusic');
    controller.abort();
    expect(await running).toBe(0);
  });
});
