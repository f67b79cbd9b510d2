import type net from 'node:net';
import { Connection } from '../../protocol/connection.js';
import { decodeHello } from '../../protocol/decode.js';
import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { checkHello, refuseHello, type Via } from './auth.js';
import { runClientSession } from './client-session.js';
import type { ServerConfig } from '../config/server-config.js';
import type { ServerState } from '../core/state.js';
import { openListeners, type Listening } from './transport.js';
import { runWorkerSession } from './worker-session.js';

/**
 * Accepts connections and routes each by its hello: a bad first line, a
 * protocol version mismatch, a refused credential or silence gets one
 * failure line and a close; nothing a peer sends can crash the server.
 * Connections accepted before `ready` resolves (the server listens before it
 * recovers the spool) wait for it unread; if it rejects, they are closed.
 */
export function listen(state: ServerState<ServerConfig>, ready: Promise<void> = Promise.resolve()): Promise<Listening> {
  const { ip, port, security, limits } = state.config;
  return openListeners({ ip, port, security, limits }, (socket: net.Socket, via: Via) => {
    const peer = via === 'unix' ? 'local socket' : `${socket.remoteAddress}:${socket.remotePort}`;
    socket.on('error', () => undefined);
    ready.then(
      () => {
        const conn = new Connection(socket, peer, state.config.maxLine);
        void greet(state, conn, via).catch((e) => log('error', `${peer}: ${reason(e)}`));
      },
      () => socket.destroy(),
    );
  });
}

async function greet(state: ServerState<ServerConfig>, conn: Connection, via: Via): Promise<void> {
  const helloMs = state.config.limits.helloTimeoutMs;
  const timer = setTimeout(() => void conn.fail(`no hello within ${helloMs / 1000} s`, 'timeout'), helloMs);
  let hello;
  try {
    hello = decodeHello(await conn.readLine());
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'connection_closed' && code !== 'connection_error') {
      log('warn', `${conn.peer}: ${reason(e)}; disconnecting`);
      await conn.fail(reason(e), code);
    }
    return;
  } finally {
    clearTimeout(timer);
  }
  const refused = checkHello(state.config.security, hello, via, conn.socket);
  if (refused) return refuseHello(conn, hello.role, refused);
  if (hello.role === 'worker') await runWorkerSession(state, conn, hello.worker, hello.stored_acks === true, hello.received_acks === true);
  else await runClientSession(state, conn);
}
