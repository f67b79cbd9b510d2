import http from 'node:http';
import { startServer, waitFor, type TestServer } from './harness.js';

/** A test server with its status page on. */
export interface StatusServer extends TestServer {
  /** Base URL of the status page, ending in a slash. */
  http: string;
}

/** Starts builder-server with `--http 127.0.0.1:0` (plus `args`) and waits for the status page line. */
export async function startStatusServer(dir: string, args: string[] = [], timeoutMs = 15000): Promise<StatusServer> {
  const server = await startServer(dir, ['--http', '127.0.0.1:0', ...args], 0, timeoutMs);
  const m = await waitFor('the status page line', () => / status page on (http:\/\/\S+\/)/.exec(server.out()), timeoutMs);
  return { ...server, http: m[1]! };
}

/** GETs a path of the status page as text. */
export async function get(server: StatusServer, path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const r = await fetch(new URL(path, server.http), init);
  return { status: r.status, headers: r.headers, body: await r.text() };
}

/**
 * GETs a raw request path, exactly as written (fetch would normalise `..` and `%2e%2e` away);
 * `host` sends that Host header instead of the server's own (null: no Host header at all).
 */
export function getRaw(server: StatusServer, rawPath: string, method = 'GET', host?: string | null): Promise<{ status: number; body: string }> {
  const u = new URL(server.http);
  const headers: http.OutgoingHttpHeaders = host ? { Host: host } : {};
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, method, headers, setHost: host !== null }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
