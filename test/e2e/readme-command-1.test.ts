import { describe, expect, it } from 'vitest';
import { startCli } from '../helpers/cli.js';

describe('README command 1 (npm start)', () => {
  it('with no configuration starts a broker, the demo sink, the dispatcher and a tiny load, and reports produced = delivered', async () => {
    // Exactly `npm start`, with the load shrunk through its documented variables. No KAFKA_BROKERS:
    // it starts (or reuses) the local broker on its default port by itself.
    const run = startCli([], { DEMO_RATE: '2', DEMO_DURATION: '3' }, ['npm', 'start', '--silent']);
    const timer = setTimeout(() => run.child.kill('SIGINT'), 150_000);
    const code = await run.exited;
    clearTimeout(timer);
    const out = run.stdout();
    expect(code, `${out}\n${run.stderr()}`).toBe(0);
    expect(out).toContain('load: 2 messages/s for 3 s');
    const summary = /produced (\d+), delivered (\d+), demo sink answered (\d+) \(rejected \d+\), failed (\d+), lag (\d+)/.exec(out);
    expect(summary, out).not.toBeNull();
    const [, produced, delivered, answered, failed, lag] = summary!.map(Number);
    expect(produced).toBe(6);
    expect(delivered).toBe(produced);
    expect(answered).toBe(produced);
    expect(failed).toBe(0);
    expect(lag).toBe(0);
    expect(out).toContain('intents: PlayMusic 6');
    expect(out).toContain('Host headers: test-ai-process.default.svc.cluster.local');
  }, 180_000);
});
