import { createServer, type Socket } from 'node:net';

/** One HTTP request exactly as its bytes came over the wire. */
export interface RawRequest {
  /** The request line and header block, without the blank line that ends it. */
  head: Buffer;
  body: Buffer;
  /** Header (name lowercased, value) pairs in wire order; only meaningful for a well-formed head. */
  headers: Array<[string, string]>;
  receivedAt: number;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * A sink that is a plain TCP server reading HTTP/1.1 by hand, so a test sees the raw bytes a
 * parser like Node's would reject or silently fix: header injection, split headers, a second
 * request smuggled into one. Answers 200 to every request it can frame (Content-Length or chunked),
 * on keep-alive connections, with no limit on the head or body size.
 */
export async function startRawSink() {
  const requests: RawRequest[] = [];
  const problems: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const framed = frame(buffer);
        if (framed === 'incomplete') return;
        if (typeof framed === 'string') {
          problems.push(framed);
          socket.destroy();
          return;
        }
        buffer = buffer.subarray(framed.consumed);
        requests.push({ head: framed.head, body: framed.body, headers: framed.headers, receivedAt: Date.now() });
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Byte streams that could not be framed as HTTP/1.1 requests. */
    problems,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

type Framed = { head: Buffer; body: Buffer; headers: Array<[string, string]>; consumed: number } | 'incomplete' | string;

function frame(buffer: Buffer): Framed {
  const end = buffer.indexOf(HEAD_END);
  if (end < 0) return 'incomplete';
  const head = buffer.subarray(0, end);
  const headers = parseHeaders(head);
  const start = end + HEAD_END.length;
  const length = headers.find(([name]) => name === 'content-length')?.[1];
  const chunked = headers.some(([name, value]) => name === 'transfer-encoding' && /chunked/i.test(value));
  if (chunked) {
    const chunks: Buffer[] = [];
    let at = start;
    for (;;) {
      const lineEnd = buffer.indexOf('\r\n', at);
      if (lineEnd < 0) return 'incomplete';
      const size = parseInt(buffer.subarray(at, lineEnd).toString('latin1'), 16);
      if (!Number.isFinite(size)) return `bad chunk size at byte ${at}`;
      if (size === 0) {
        const trailerEnd = buffer.indexOf('\r\n', lineEnd + 2);
        if (trailerEnd < 0) return 'incomplete';
        return { head, body: Buffer.concat(chunks), headers, consumed: trailerEnd + 2 };
      }
      if (buffer.length < lineEnd + 2 + size + 2) return 'incomplete';
      chunks.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  const size = length === undefined ? 0 : Number(length);
  if (!Number.isInteger(size) || size < 0) return `bad content-length ${JSON.stringify(length)}`;
  if (buffer.length < start + size) return 'incomplete';
  return { head, body: Buffer.from(buffer.subarray(start, start + size)), headers, consumed: start + size };
}

function parseHeaders(head: Buffer): Array<[string, string]> {
  return head
    .toString('latin1')
    .split('\r\n')
    .slice(1)
    .map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as [string, string];
    });
}

/**
 * What is wrong with a request head, judged by RFC 9110/9112: lines end in CRLF and nowhere else,
 * the request line is `METHOD target HTTP/1.1`, each header is `token: value` with a value of
 * visible ASCII, space and tab only (no CR, LF, NUL or other control byte, and, from this
 * dispatcher, no raw non-ASCII either: CloudEvents percent-encodes it).
 */
export function headProblems(head: Buffer): string[] {
  const problems: string[] = [];
  const text = head.toString('latin1');
  const lines = text.split('\r\n');
  for (const [i, line] of lines.entries()) {
    if (/[\r\n]/.test(line)) problems.push(`line ${i} holds a bare CR or LF: ${JSON.stringify(line.slice(0, 120))}`);
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(line)) problems.push(`line ${i} holds a control byte: ${JSON.stringify(line.slice(0, 120))}`);
    if (/[\x80-\xff]/.test(line)) problems.push(`line ${i} holds a non-ASCII byte: ${JSON.stringify(line.slice(0, 120))}`);
  }
  if (!/^[A-Z]+ \S+ HTTP\/1\.1$/.test(lines[0] ?? '')) problems.push(`bad request line ${JSON.stringify(lines[0])}`);
  for (const [i, line] of lines.slice(1).entries()) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) problems.push(`header line ${i + 1} has no valid name: ${JSON.stringify(line.slice(0, 120))}`);
  }
  return problems;
}
