import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { BuilderError, reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { readableByOthers, readTokenFile } from '../../shared/secrets.js';

/** Who may connect, and how: credentials, TLS, the local socket. */
export interface SecurityConfig {
  /** The secret a worker must send in its hello; unset: workers need none (loopback, --insecure or mTLS). */
  workerToken?: string;
  /** The secret a client must send in its hello over TCP; unset: clients need none (loopback or --insecure). */
  clientToken?: string;
  /** PEM files' contents: the server speaks TLS on its TCP port. */
  tls?: { cert: Buffer; key: Buffer; clientCa?: Buffer };
  /** A Unix socket for local clients (mode 0600): no token needed there. */
  socketPath?: string;
  /** The operator accepted an unauthenticated non-loopback listener. */
  insecure: boolean;
  /** Clients over TCP are refused, token or not: --local-clients-only, or non-loopback with --socket but no client token, so only the socket serves clients. */
  tcpClientsRefused: boolean;
}

/** The security flags as given on the command line. */
export interface SecurityFlags {
  workerTokenFile?: string;
  clientTokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  socket?: string;
  /** --local-clients-only: clients only over the socket, on any address. */
  localClientsOnly?: boolean;
  insecure: boolean;
}

/** Whether an address only reaches this host (127.0.0.0/8, ::1, localhost). */
export function isLoopback(ip: string): boolean {
  if (ip === 'localhost') return true;
  if (net.isIPv4(ip)) return ip.startsWith('127.');
  const v6 = ip.toLowerCase();
  return v6 === '::1' || /^::ffff:127\./.test(v6);
}

async function readPem(path: string, flag: string): Promise<Buffer> {
  try {
    return await fs.readFile(path);
  } catch (e) {
    throw new BuilderError('usage', `cannot read ${path} (${flag}): ${reason(e)}`, { cause: e });
  }
}

/** USER:GROUP of this process, for advice on file ownership (the package's server runs as builder:builder). */
function serverUser(): string {
  const u = os.userInfo();
  return u.username === 'root' ? 'root:root' : `${u.username}:${u.username}`;
}

async function token(path: string | undefined, flag: string): Promise<string | undefined> {
  if (path === undefined) return undefined;
  const t = await readTokenFile(path, flag);
  // why the owner in the advice: a root-owned 0600 file is unreadable to a server run as builder.
  if (await readableByOthers(path)) log('warn', `${path} (${flag}) can be read by other users: make it owned by the user the server runs as, mode 0600 (chown ${serverUser()} ${path}; chmod 600 ${path})`);
  return t;
}

/**
 * Reads the credential and certificate files and checks the combination:
 * on an address other than loopback, workers must be authenticated (a token
 * or client certificates) and clients too (a token, or only the local
 * socket), unless --insecure. Throws a one-line usage error otherwise.
 */
export async function loadSecurity(ip: string, f: SecurityFlags): Promise<SecurityConfig> {
  const sec: SecurityConfig = { insecure: f.insecure, tcpClientsRefused: false };
  const workerToken = await token(f.workerTokenFile, '--worker-token-file');
  const clientToken = await token(f.clientTokenFile, '--client-token-file');
  if (workerToken !== undefined) sec.workerToken = workerToken;
  if (clientToken !== undefined) sec.clientToken = clientToken;
  if (workerToken !== undefined && workerToken === clientToken)
    throw new BuilderError('usage', '--worker-token-file and --client-token-file hold the same token: use two different secrets, so that a worker cannot issue client commands');
  if ((f.tlsCert === undefined) !== (f.tlsKey === undefined)) throw new BuilderError('usage', '--tls-cert and --tls-key go together: give both, or neither');
  if (f.tlsClientCa !== undefined && f.tlsCert === undefined) throw new BuilderError('usage', '--tls-client-ca needs --tls-cert and --tls-key (client certificates are checked over TLS)');
  if (f.tlsCert !== undefined && f.tlsKey !== undefined) {
    sec.tls = { cert: await readPem(f.tlsCert, '--tls-cert'), key: await readPem(f.tlsKey, '--tls-key') };
    if (f.tlsClientCa !== undefined) sec.tls.clientCa = await readPem(f.tlsClientCa, '--tls-client-ca');
  }
  if (f.socket !== undefined) sec.socketPath = f.socket;
  if (f.localClientsOnly) {
    if (f.socket === undefined) throw new BuilderError('usage', '--local-clients-only needs --socket PATH (where local clients connect)');
    if (clientToken !== undefined) throw new BuilderError('usage', '--local-clients-only and --client-token-file exclude each other: TCP clients are refused either way, or accepted with the token');
    // why: a loopback port is reachable by every local user, a job run on this host included.
    sec.tcpClientsRefused = true;
  }
  if (isLoopback(ip) || f.insecure) return sec;
  const workersOk = workerToken !== undefined || sec.tls?.clientCa !== undefined;
  const clientsOk = clientToken !== undefined || sec.socketPath !== undefined;
  if (!workersOk || !clientsOk) {
    const need = [
      ...(workersOk ? [] : ['--worker-token-file (or --tls-client-ca)']),
      ...(clientsOk ? [] : ['--client-token-file (or --socket for local clients only)']),
    ];
    throw new BuilderError(
      'usage',
      `refusing to listen on ${ip} without credentials: anyone who can reach it could run scripts on your workers; give ${need.join(' and ')}, or --insecure if the network is trusted`,
    );
  }
  sec.tcpClientsRefused = clientToken === undefined;
  return sec;
}
