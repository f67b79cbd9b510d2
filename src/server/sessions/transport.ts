import { promises as fs } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { BuilderError, reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import type { Via } from './auth.js';
import { AddressCounter, type Limits } from '../core/limits.js';
import type { SecurityConfig } from '../config/security.js';

/** The server's listening sockets: TCP (plain or TLS) and the optional local Unix socket. */
export interface Listening {
  tcp: net.Server;
  unix: net.Server | null;
  /** Stops accepting on both and removes the Unix socket file. */
  close(): void;
}

/** Called for every accepted connection that passed the per-address limit (and TLS, if on). */
export type OnSocket = (socket: net.Socket, via: Via) => void;

/**
 * Opens the TCP listener (TLS when a certificate is configured; client
 * certificates are asked for, and checked per role after the hello, when
 * --tls-client-ca is set) and the Unix socket (mode 0600). Connections over
 * the per-address limit get one failure line (plain TCP) and are closed.
 */
export async function openListeners(opts: { ip: string; port: number; security: SecurityConfig; limits: Limits }, onSocket: OnSocket): Promise<Listening> {
  const { security: sec, limits } = opts;
  const counter = new AddressCounter(limits.maxConnectionsPerAddress);
  const tcp = sec.tls ? tlsServer(sec.tls, limits) : net.createServer();
  tcp.on('connection', (socket: net.Socket) => {
    if (!counter.admit(socket)) return refuseBusy(socket, limits.maxConnectionsPerAddress, sec.tls !== undefined);
    if (!sec.tls) onSocket(socket, 'tcp');
  });
  if (sec.tls) {
    tcp.on('secureConnection', (socket: tls.TLSSocket) => onSocket(socket, 'tls'));
    // why debug: scanners and plain-TCP clients cause these all day long.
    tcp.on('tlsClientError', (e: Error, socket: tls.TLSSocket) => log('debug', `${socket.remoteAddress}: TLS handshake failed: ${reason(e)}`));
  }
  await listenOn(tcp, { host: opts.ip, port: opts.port }, `${opts.ip}:${opts.port}`);
  let unix: net.Server | null = null;
  try {
    unix = sec.socketPath ? await openUnixSocket(sec.socketPath, onSocket) : null;
  } catch (e) {
    // Nothing may stay open when the start fails.
    tcp.close();
    throw e;
  }
  return {
    tcp,
    unix,
    close() {
      tcp.close();
      if (unix && sec.socketPath) {
        unix.close();
        void fs.unlink(sec.socketPath).catch(() => undefined);
      }
    },
  };
}

/** The TLS listener; a certificate or key that does not load is a usage error naming the flags. */
function tlsServer(t: NonNullable<SecurityConfig['tls']>, limits: Limits): tls.Server {
  try {
    return tls.createServer({
      cert: t.cert,
      key: t.key,
      minVersion: 'TLSv1.2',
      handshakeTimeout: limits.helloTimeoutMs,
      ...(t.clientCa ? { ca: t.clientCa, requestCert: true, rejectUnauthorized: false } : {}),
    });
  } catch (e) {
    throw new BuilderError('usage', `cannot use the TLS certificate and key (--tls-cert, --tls-key, --tls-client-ca): ${reason(e)} (give PEM files of a matching certificate and key)`, { cause: e });
  }
}

function refuseBusy(socket: net.Socket, max: number, overTls: boolean): void {
  log('warn', `${socket.remoteAddress}: more than ${max} connections from this address; refused one (--max-connections-per-address)`);
  socket.on('error', () => undefined);
  // Over TLS no plain line can be read by the peer: the close alone must do.
  if (overTls) return void socket.destroy();
  const line = { type: 'failure', message: `too many connections from ${socket.remoteAddress} (the limit is ${max}); try again later`, code: 'too_many_connections' };
  socket.end(JSON.stringify(line) + '\n');
  setTimeout(() => socket.destroy(), 1000).unref();
}

function listenOn(server: net.Server, where: net.ListenOptions, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new BuilderError('listen_failed', `cannot listen on ${name}: ${reason(e)}`, { cause: e })));
    server.listen(where, () => {
      server.removeAllListeners('error');
      server.on('error', (e) => log('error', `listener ${name}: ${reason(e)}`));
      resolve();
    });
  });
}

/** Listens on a Unix socket that only this user can connect to; a stale socket file is replaced, a live one is not. */
async function openUnixSocket(path: string, onSocket: OnSocket): Promise<net.Server> {
  const st = await fs.lstat(path).catch(() => null);
  if (st && !st.isSocket()) throw new BuilderError('usage', `--socket ${path} exists and is not a socket: remove it or choose another path`);
  if (st) {
    const live = await new Promise<boolean>((resolve) => {
      const probe = net.connect({ path }, () => {
        probe.destroy();
        resolve(true);
      });
      probe.on('error', () => resolve(false));
    });
    if (live) throw new BuilderError('usage', `--socket ${path} is in use by a running server: stop it or choose another path`);
    await fs.unlink(path);
  }
  const server = net.createServer((socket) => onSocket(socket, 'unix'));
  // why the umask: the socket must never exist with looser permissions, not even between listen and chmod.
  const old = process.umask(0o177);
  try {
    await listenOn(server, { path }, path);
  } finally {
    process.umask(old);
  }
  await fs.chmod(path, 0o600);
  return server;
}
