/**
 * The contract between the record dispatcher and whatever carries its requests: one request out,
 * one response back. The undici adapter (http-sender.ts) implements it; tests and benchmarks swap it.
 */

export interface OutboundRequest {
  headers: Record<string, string>;
  body: Buffer | null;
}

export interface SinkResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** What the record dispatcher needs from the HTTP side. */
export interface Sender {
  /** POSTs to the sink, or to `target` (a dead-letter sink). Rejects with a SinkTransportError when there is no answer. */
  send(request: OutboundRequest, target?: string): Promise<SinkResponse>;
  /** Waits for the requests in flight, then closes the connections. */
  close(): Promise<void>;
  /** Aborts the requests in flight (they reject) and closes the connections: the end of a stop's grace. */
  destroy(): Promise<void>;
}
