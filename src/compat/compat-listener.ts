import net from 'node:net';
import { BuilderError, reason } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { isLoopback } from '../server/config/security.js';
import { AddressCounter } from '../server/core/limits.js';
import type { ServerConfig } from '../server/config/server-config.js';
import type { ServerState } from '../server/core/state.js';
import { CLIENT_VERSION, WORKER_VERSION } from './cmd.js';
import { runCompatClientSession } from './compat-client-session.js';
import { CompatConnection, type FrameLimits } from './compat-connection.js';
import { runCompatWorkerSession } from './compat-worker-session.js';

/** Room in a job_finished frame beyond its artifact bytes: paths, result and DER headers. */
const JOB_FINISHED_OVERHEAD = 16 * 1024 * 1024;

/**
 * The original protocol has no credentials: anyone who reaches the port can
 * schedule scripts and take jobs. So, like an unauthenticated main port, it
 * listens on loopback only, unless --insecure says the network is trusted.
 */
export function checkCompatAddress(ip: string, insecure: boolean): void {
  if (isLoopback(ip) || insecure) return;
  throw new BuilderError(
    'usage',
    `refusing --compat-port on ${ip}: the original's protocol has no credentials, so anyone who can reach it could run scripts on your workers; use a loopback --ip (jails on a lo1 127.0.2.x address are loopback), or add --insecure if the network is trusted`,
  );
}

/** The frame limits of the compat port, from the server's own limits. */
export function compatFrameLimits(state: ServerState<ServerConfig>): FrameLimits {
  return { maxFrame: state.config.maxLine, maxJobFinished: state.config.limits.maxArtifactBytes + JOB_FINISHED_OVERHEAD };
}

/**
 * Listens for the original's workers and clients on `port` (same --ip) and
 * routes each by its Client_hello. Garbage, an over-long frame, a wrong
 * version or silence gets one Failure frame and a close, with a log line;
 * nothing a peer sends can crash the server.
 */
/** Listens for the original's protocol; connections are served once `serving` resolves (after the spool is loaded). */
export async function listenCompat(state: ServerState<ServerConfig>, port: number, serving: Promise<void> = Promise.resolve()): Promise<net.Server> {
  const { ip, limits } = state.config;
  const counter = new AddressCounter(limits.maxConnectionsPerAddress);
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    if (!counter.admit(socket)) {
      log('warn', `${socket.remoteAddress}: more than ${limits.maxConnectionsPerAddress} connections from this address on the compat port; refused one (--max-connections-per-address)`);
      return void socket.destroy();
    }
    // No heartbeats in this protocol: keepalive notices a worker host that vanished.
    socket.setKeepAlive(true, 60_000);
    const conn = new CompatConnection(socket, `${socket.remoteAddress}:${socket.remotePort}`, compatFrameLimits(state));
    void serving.then(() => greet(state, conn)).catch((e) => log('error', `${conn.peer}: ${reason(e)}`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new BuilderError('listen_failed', `cannot listen on ${ip}:${port} (--compat-port): ${reason(e)}`, { cause: e })));
    server.listen({ host: ip, port }, () => {
      server.removeAllListeners('error');
      server.on('error', (e) => log('error', `compat listener ${ip}:${port}: ${reason(e)}`));
      resolve();
    });
  });
  return server;
}

async function greet(state: ServerState<ServerConfig>, conn: CompatConnection): Promise<void> {
  const helloMs = state.config.limits.helloTimeoutMs;
  const timer = setTimeout(() => void conn.fail(`no hello within ${helloMs / 1000} s`, 'timeout'), helloMs);
  try {
    const frame = await conn.readFrame();
    clearTimeout(timer);
    if (frame.kind !== 'cmd' || frame.cmd.type !== 'client_hello') throw new BuilderError('bad_message', `${conn.peer}: the first frame must be client_hello`);
    const { role, version } = frame.cmd;
    const want = role === 'client' ? CLIENT_VERSION : WORKER_VERSION;
    if (version !== want) {
      log('warn', `${conn.peer}: an original ${role} of protocol version ${version}, the compat port speaks ${want}; disconnecting`);
      await conn.fail(`protocol version mismatch: this ${role} speaks ${version}, the compat port speaks ${role} version ${want} (upgrade the original builder-${role}, or switch to ours)`);
      return;
    }
    if (role === 'worker') await runCompatWorkerSession(state, conn);
    else await runCompatClientSession(state, conn);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'bad_message' || code === 'frame_too_long') {
      log('warn', `${conn.peer} (compat port): ${reason(e)}; disconnecting`);
      await conn.fail(reason(e));
    } else if (code !== 'connection_closed' && code !== 'connection_error') {
      log('error', `${conn.peer} (compat port): ${reason(e)}`);
      conn.destroy();
    }
  } finally {
    clearTimeout(timer);
  }
}
