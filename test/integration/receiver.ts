import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';

// A stand-in for builder-web in the tests: a real HTTP server on 127.0.0.1:0
// that records every POST (its Authorization, Content-Length and body) and
// answers with whatever status `answer` picks for the n-th request (0-based).

/** One request as the receiver saw it. */
export interface Received {
  method: string;
  path: string;
  authorization: string | undefined;
  contentLength: number;
  body: Buffer;
  status: number;
}

/** A running receiver: its URL (without credentials) and what it got so far. */
export interface Receiver {
  url: string;
  port: number;
  requests: Received[];
  close(): Promise<void>;
}

/** Starts a receiver; `answer(n, req)` returns the status of the n-th request (default 201). */
export async function startReceiver(answer: (n: number, req: Omit<Received, 'status'>) => number = () => 201): Promise<Receiver> {
  const requests: Received[] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const got = {
        method: req.method ?? '',
        path: req.url ?? '',
        authorization: req.headers.authorization,
        contentLength: Number(req.headers['content-length']),
        body: Buffer.concat(parts),
      };
      const status = answer(requests.length, got);
      requests.push({ ...got, status });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status < 300 ? 'ok\n' : `status ${status}\n`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const close = () => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  after(close);
  return { url: `http://127.0.0.1:${port}/upload`, port, requests, close };
}

/** The Authorization header value for HTTP basic auth. */
export function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}
