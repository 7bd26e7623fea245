import type { Dispatcher } from 'undici';
import type { SinkResponse } from './sender.js';

/**
 * An undici dispatch handler that gathers one response into a SinkResponse: status, headers and up to
 * `limit` bytes of body (the rest is read and dropped). undici's `request` would wrap every response
 * in a Readable and a promise chain; a handler is called with the chunks as they come, which the
 * undici README measures about a quarter faster.
 */
export class ResponseCollector implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private abortReason: Error | undefined;
  private settled = false;
  private status = 0;
  private headers: SinkResponse['headers'] = {};
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly limit: number,
    private readonly resolve: (response: SinkResponse) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  /** Ends the exchange with `reason`, whether or not it has reached a connection yet. */
  abort(reason: Error): void {
    if (this.settled) return;
    this.abortReason = reason;
    if (this.controller) this.controller.abort(reason);
    else this.fail(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortReason) controller.abort(this.abortReason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: SinkResponse['headers']): void {
    // 1xx answers are informational: the real one follows.
    if (statusCode < 200) return;
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.size < this.limit)
      this.chunks.push(this.size + chunk.length <= this.limit ? chunk : chunk.subarray(0, this.limit - this.size));
    this.size += chunk.length;
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.settled = true;
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.resolve({ status: this.status, headers: this.headers, body });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  private fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(error);
  }
}
