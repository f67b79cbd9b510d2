import { BuilderError, reason } from '../shared/errors.js';
import { PROTOCOL_VERSION } from '../shared/version.js';
import { Connection } from './connection.js';
import { decodeServerMessage } from './decode.js';
import type { Hello, ServerMessage } from './messages.js';
import { connectSocket, describeTarget, type TransportOptions } from './transport.js';

/** A parsed HOST:PORT, and how to reach it (TLS, a Unix socket, a credential). */
export interface Remote extends TransportOptions {
  host: string;
  port: number;
}

/** Parses `HOST:PORT` (IPv6 as `[::1]:1234`); a bare host gets port 1234. */
export function parseRemote(text: string): Remote {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(text.trim());
  const port = m?.[3] === undefined ? 1234 : Number(m[3]);
  if (!m || port < 1 || port > 65535)
    throw new BuilderError('bad_remote', `bad remote "${text}": expected HOST:PORT, e.g. 127.0.0.1:1234`);
  return { host: (m[1] ?? m[2])!, port };
}

/** A hello without its type and version (dial adds them). */
export type HelloBody = Hello extends infer H ? (H extends unknown ? Omit<H, 'type' | 'version'> : never) : never;

/** Connects, sends the hello (and `then`, a first message, with it) and waits for the welcome; fails with a one-line, actionable error. */
export async function dial(
  remote: Remote,
  hello: HelloBody,
  opts: { maxLine?: number; signal?: AbortSignal; then?: object } = {},
): Promise<{ conn: Connection; welcome: ServerMessage & { type: 'welcome' } }> {
  const where = describeTarget(remote.host, remote.port, remote);
  const socket = await connectSocket(remote.host, remote.port, remote, opts.signal);
  const conn = new Connection(socket, where, opts.maxLine);
  // An abort (the caller's deadline) also ends a handshake that never gets its welcome.
  const abort = () => conn.destroy();
  opts.signal?.addEventListener('abort', abort, { once: true });
  try {
    return await handshake(conn, remote, hello, where, opts.then);
  } finally {
    opts.signal?.removeEventListener('abort', abort);
  }
}

async function handshake(conn: Connection, remote: Remote, hello: HelloBody, where: string, then?: object): Promise<{ conn: Connection; welcome: ServerMessage & { type: 'welcome' } }> {
  const helloMsg = { type: 'hello', version: PROTOCOL_VERSION, ...(remote.token ? { token: remote.token } : {}), ...hello };
  // `then` goes in the same write as the hello: the server reads it once it welcomed us (a refused hello
  // closes the connection unread), so a one-command client waits one round trip less.
  await (then ? conn.sendBatch([helloMsg, then]) : conn.send(helloMsg));
  let first: ServerMessage;
  try {
    first = decodeServerMessage(await conn.readLine());
  } catch (e) {
    conn.destroy();
    // why the hint: a plain-TCP hello to a TLS port is dropped without a word.
    const hint = remote.tls || remote.socketPath ? '' : ' (if the server uses TLS, give --tls-ca)';
    throw new BuilderError('handshake_failed', `${where}: no welcome from the server: ${reason(e)}${hint}`, { cause: e });
  }
  if (first.type === 'failure') {
    conn.destroy();
    throw new BuilderError(first.code ?? 'refused', `${where} refused the connection: ${first.message}`);
  }
  if (first.type !== 'welcome') {
    conn.destroy();
    throw new BuilderError('handshake_failed', `${where}: expected a welcome, got "${first.type}"`);
  }
  return { conn, welcome: first };
}
