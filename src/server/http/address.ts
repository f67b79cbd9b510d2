import { isIP } from 'node:net';
import { usageError } from '../../shared/cli.js';
import { isLoopback } from '../config/security.js';

/** Where the status page listens. */
export interface HttpAddress {
  ip: string;
  port: number;
}

/**
 * Parses `--http [ADDR:]PORT` (`[::1]:PORT` for IPv6). Without an address it
 * is loopback (127.0.0.1). Beyond loopback the page asks for the client
 * token (HTTP basic auth or a bearer token), so an address other than
 * loopback needs `--client-token-file`, or `--insecure` for an open page
 * (behind a proxy that checks credentials).
 */
export function parseHttpFlag(value: unknown, opts: { insecure: boolean; clientToken: boolean }): HttpAddress {
  const text = String(value);
  const m = /^(?:\[([0-9a-fA-F:.]+)\]:|([^:[\]]*):)?(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) usageError(`bad --http "${text}": use PORT, ADDR:PORT or [IPv6]:PORT, e.g. --http 127.0.0.1:8080`);
  const ip = m[1] ?? (m[2] || '127.0.0.1');
  if (ip !== 'localhost' && isIP(ip) === 0) usageError(`bad --http "${text}": "${ip}" is not an IP address`);
  if (!isLoopback(ip) && !opts.insecure && !opts.clientToken) {
    usageError(
      `--http ${text} would serve the status page beyond this host without credentials: ` +
        `use a loopback address (e.g. 127.0.0.1:${port}), give --client-token-file (the page then asks for that token), ` +
        `or add --insecure to allow it (put a proxy that checks credentials in front)`,
    );
  }
  return { ip, port };
}

/** The token the page asks for: the client token when it listens beyond loopback, else none. */
export function pageToken(at: HttpAddress, clientToken: string | undefined): string | null {
  return !isLoopback(at.ip) && clientToken ? clientToken : null;
}

/** Parses the repeatable `--http-host NAME` (a DNS name or an IP address, without port or scheme). */
export function parseHttpHosts(value: unknown): string[] {
  if (value === undefined) return [];
  const names = (Array.isArray(value) ? value : [value]).map(String);
  for (const n of names) {
    if (!/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(n) && isIP(n) === 0) {
      usageError(`bad --http-host "${n}": give a host name such as builds.example.org (no scheme, no port)`);
    }
  }
  return names;
}
