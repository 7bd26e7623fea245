import { SinkTransportError } from '../../src/errors.js';
import type { OutboundRequest, Sender, SinkResponse } from '../../src/sink/sender.js';

/** One scripted answer: a response, a transport error, or a function computing either. */
export type Script =
  | number
  | { status: number; headers?: Record<string, string | string[] | undefined>; body?: string | Buffer }
  | 'transport'
  | 'timeout'
  | Error
  | ((call: SentCall) => SinkResponse | Error);

export interface SentCall {
  /** 1-based index over every call (sink and dead letter). */
  index: number;
  request: OutboundRequest;
  target: string | undefined;
  /** Date.now() when the call was made (fake under vi.useFakeTimers()). */
  at: number;
}

/**
 * A Sender whose answers are scripted per destination: `sink` for calls without a target, and one
 * script per dead-letter uri. When a script runs out its last entry repeats. Records every call.
 */
export class FakeSender implements Sender {
  readonly calls: SentCall[] = [];
  private readonly scripts = new Map<string, Script[]>();
  private readonly positions = new Map<string, number>();
  closed = false;

  constructor(sink: Script[] = [200], targets: Record<string, Script[]> = {}) {
    this.scripts.set('', sink);
    for (const [uri, script] of Object.entries(targets)) this.scripts.set(uri, script);
  }

  /** Calls to the sink (no target). */
  get sinkCalls(): SentCall[] {
    return this.calls.filter((c) => c.target === undefined);
  }

  /** Calls to a given target. */
  callsTo(target: string): SentCall[] {
    return this.calls.filter((c) => c.target === target);
  }

  async send(request: OutboundRequest, target?: string): Promise<SinkResponse> {
    const call: SentCall = { index: this.calls.length + 1, request, target, at: Date.now() };
    this.calls.push(call);
    const key = target ?? '';
    const script = this.scripts.get(key);
    if (!script || script.length === 0) throw new Error(`FakeSender: no script for target ${JSON.stringify(target)}`);
    const position = this.positions.get(key) ?? 0;
    this.positions.set(key, position + 1);
    const step = script[Math.min(position, script.length - 1)]!;
    const result = toResult(step, call);
    if (result instanceof Error) throw result;
    return result;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async destroy(): Promise<void> {
    this.closed = true;
  }
}

function toResult(step: Script, call: SentCall): SinkResponse | Error {
  if (typeof step === 'function') return step(call);
  if (step instanceof Error) return step;
  if (step === 'transport') return new SinkTransportError('request to http://sink/ failed: ECONNREFUSED', { timedOut: false });
  if (step === 'timeout') return new SinkTransportError('no answer from http://sink/ within 100 ms', { timedOut: true });
  if (typeof step === 'number') return { status: step, headers: {}, body: Buffer.alloc(0) };
  const body = step.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(step.body) ? step.body : Buffer.from(step.body, 'utf8');
  return { status: step.status, headers: step.headers ?? {}, body };
}
