import { isIP } from 'node:net';
import { usageError } from '../../shared/cli.js';

/** Where the status page listens. */
export interface HttpAddress {
  ip: string;
  port: number;
}

/** Whether an address is loopback: 127.0.0.0/8, ::1 (or ::ffff:127.x), localhost. */
export function isLoopback(ip: string): boolean {
  const v = ip.toLowerCase();
  return v === 'localhost' || v === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(v);
}

/**
 * Parses `--http [ADDR:]PORT` (`[::1]:PORT` for IPv6). Without an address it
 * is loopback (127.0.0.1). The page has no credentials of its own yet, so an
 * address other than loopback is refused unless `insecure` (--insecure) says
 * the operator wants it anyway (behind a proxy that checks credentials).
 */
export function parseHttpFlag(value: unknown, insecure: boolean): HttpAddress {
  const text = String(value);
  const m = /^(?:\[([0-9a-fA-F:.]+)\]:|([^:[\]]*):)?(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) usageError(`bad --http "${text}": use PORT, ADDR:PORT or [IPv6]:PORT, e.g. --http 127.0.0.1:8080`);
  const ip = m[1] ?? (m[2] || '127.0.0.1');
  if (ip !== 'localhost' && isIP(ip) === 0) usageError(`bad --http "${text}": "${ip}" is not an IP address`);
  if (!isLoopback(ip) && !insecure) {
    usageError(
      `--http ${text} would serve the status page beyond this host without credentials: ` +
        `use a loopback address (e.g. 127.0.0.1:${port}), or add --insecure to allow it (put a proxy that checks credentials in front)`,
    );
  }
  return { ip, port };
}
