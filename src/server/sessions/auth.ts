import { createHash, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { Connection } from '../../protocol/connection.js';
import type { Hello } from '../../protocol/messages.js';
import { log } from '../../shared/log.js';
import type { SecurityConfig } from '../config/security.js';

/** How a connection reached the server: the local Unix socket is trusted as its owner. */
export type Via = 'tcp' | 'tls' | 'unix';

/** Time a refused peer waits for its answer: slows down guessing (the per-address limit caps parallel tries). */
export const AUTH_FAIL_DELAY_MS = 1000;

/**
 * Compares a presented secret with the expected one in constant time: both
 * are hashed first, so the comparison sees equal-length digests and leaks
 * neither the length nor a matching prefix.
 */
export function sameSecret(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Decides whether a hello may go on. Returns null when it may, or the reason
 * it is refused (for the log; the peer gets a generic line). The rules:
 *   - a role with a token configured needs exactly that token, so a worker
 *     token never passes as a client's and the other way round;
 *   - a worker needs a verified client certificate when --tls-client-ca is set;
 *   - a client over the Unix socket needs nothing (the socket is mode 0600);
 *   - clients over TCP are refused when only the socket was meant for them.
 */
export function checkHello(sec: SecurityConfig, hello: Hello, via: Via, socket: Connection['socket']): string | null {
  if (hello.role === 'client') {
    if (via === 'unix') return null;
    if (sec.tcpClientsRefused) return 'client over TCP, but clients may only use the local socket (--local-clients-only, or no --client-token-file)';
    if (sec.clientToken === undefined) return null;
    if (sameSecret(hello.token, sec.clientToken)) return null;
    if (hello.token === undefined) return 'client without a credential';
    if (sec.workerToken !== undefined && sameSecret(hello.token, sec.workerToken)) return 'client presented the worker credential';
    return 'client with a wrong credential';
  }
  if (sec.tls?.clientCa !== undefined) {
    const tls = via === 'tls' ? (socket as TLSSocket) : null;
    if (!tls || !tls.authorized) return `worker without a valid client certificate (${tls?.authorizationError ?? 'none presented'})`;
  }
  if (sec.workerToken === undefined) return null;
  if (sameSecret(hello.token, sec.workerToken)) return null;
  if (hello.token === undefined) return 'worker without a credential';
  if (sec.clientToken !== undefined && sameSecret(hello.token, sec.clientToken)) return 'worker presented the client credential';
  return 'worker with a wrong credential';
}

/** Answers a refused hello: a log line with the peer address, a short delay, one failure line, close. */
export async function refuseHello(conn: Connection, role: Hello['role'], why: string, delayMs = AUTH_FAIL_DELAY_MS): Promise<void> {
  log('warn', `${conn.peer}: refused: ${why}`);
  await new Promise((r) => setTimeout(r, delayMs));
  const hint =
    role === 'worker'
      ? 'check the worker token (--token-file / BUILDER_TOKEN) and client certificate (--tls-cert)'
      : 'check --token-file / BUILDER_TOKEN, or use the local socket: --socket';
  await conn.fail(`${role} credential refused (${hint})`, 'unauthorized');
}
