import type http from 'node:http';
import { isIP } from 'node:net';
import type net from 'node:net';
import { log } from '../../shared/log.js';
import type { HttpAddress } from './address.js';

// What the status page accepts before any route runs: which Host headers
// (so a web page on another origin cannot read it through DNS rebinding)
// and how many connections (so idle browsers or a flood cannot take the
// file descriptors the protocol listener needs).

/** Open HTTP connections from one IP address. */
export const HTTP_MAX_PER_ADDRESS = 32;
/** Open HTTP connections in all; well under the usual 1024 descriptors, so the protocol listener keeps its own. */
export const HTTP_MAX_TOTAL = 256;
/** A new connection's request headers must arrive within this. */
export const HTTP_HEADERS_TIMEOUT_MS = 10_000;
/** A whole request (not the response: event streams stay open) must arrive within this. */
export const HTTP_REQUEST_TIMEOUT_MS = 30_000;
/** An idle kept-alive connection is closed after this. */
export const HTTP_KEEPALIVE_TIMEOUT_MS = 5_000;
/** A connection with no traffic either way is closed after this (event streams send every 15 s). */
export const HTTP_IDLE_TIMEOUT_MS = 60_000;

// Log a cap at most once a minute, not once per refused connection.
const LOG_EVERY_MS = 60_000;

function bracketed(ip: string): string {
  return isIP(ip) === 6 ? `[${ip}]` : ip;
}

/**
 * The Host values the page answers: the address it listens on and the
 * address a connection arrived at (each with the port), `localhost` with
 * the port, and each `--http-host` name (with any port or none: behind a
 * proxy the port differs). A rebinding page's Host is its own domain name,
 * which none of these match. Case-insensitive; a trailing dot is ignored.
 */
export function hostAllowed(host: string | undefined, at: HttpAddress, localAddress: string | undefined, names: string[]): boolean {
  if (!host) return false;
  const h = host.toLowerCase().replace(/\.(?=:\d+$|$)/, '');
  const port = String(at.port);
  const own = [at.ip, localAddress?.replace(/^::ffff:(?=\d+\.)/, ''), 'localhost'].filter((a): a is string => !!a);
  if (own.some((a) => h === `${bracketed(a).toLowerCase()}:${port}`)) return true;
  const name = h.replace(/:\d+$/, '');
  return names.some((n) => n.toLowerCase().replace(/\.$/, '') === name);
}

/** The one-line answer to a request with a foreign Host header. */
export function refuseHost(req: http.IncomingMessage, res: http.ServerResponse): void {
  const body = `this status page does not answer for Host "${req.headers.host ?? ''}" (add it with builder-server --http-host NAME)\n`;
  res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  res.end(body);
}

/**
 * Caps open connections per peer address and in total: one over a cap is
 * closed at once. Also sets the header, request, keep-alive and idle
 * timeouts. The first refusal of each kind is logged (then once a minute).
 */
export function guardConnections(server: http.Server, caps = { perAddress: HTTP_MAX_PER_ADDRESS, total: HTTP_MAX_TOTAL }): void {
  server.headersTimeout = HTTP_HEADERS_TIMEOUT_MS;
  server.requestTimeout = HTTP_REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = HTTP_KEEPALIVE_TIMEOUT_MS;
  server.setTimeout(HTTP_IDLE_TIMEOUT_MS, (socket) => socket.destroy());
  const byPeer = new Map<string, number>();
  let total = 0;
  const logged = { total: 0, peer: 0 };
  const refuse = (socket: net.Socket, kind: 'total' | 'peer', text: string) => {
    socket.destroy();
    const now = Date.now();
    if (now - logged[kind] < LOG_EVERY_MS) return;
    logged[kind] = now;
    log('warn', `status page: ${text}; refusing more (logged once a minute)`);
  };
  server.on('connection', (socket: net.Socket) => {
    const peer = socket.remoteAddress ?? '?';
    const mine = byPeer.get(peer) ?? 0;
    if (total >= caps.total) return refuse(socket, 'total', `${total} HTTP connections open, the cap`);
    if (mine >= caps.perAddress) return refuse(socket, 'peer', `${peer} has ${mine} HTTP connections open, the cap per address`);
    total++;
    byPeer.set(peer, mine + 1);
    socket.once('close', () => {
      total--;
      const n = (byPeer.get(peer) ?? 1) - 1;
      if (n === 0) byPeer.delete(peer);
      else byPeer.set(peer, n);
    });
  });
}
