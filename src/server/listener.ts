import net from 'node:net';
import { Connection } from '../protocol/connection.js';
import { decodeHello } from '../protocol/decode.js';
import { reason } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { PROTOCOL_VERSION } from '../shared/version.js';
import { runClientSession } from './client-session.js';
import type { ServerState } from './state.js';
import { runWorkerSession } from './worker-session.js';

const HELLO_TIMEOUT_MS = 10_000;

/**
 * Accepts connections and routes each by its hello: a bad first line, a
 * protocol version mismatch or silence gets one failure line and a close;
 * nothing a peer sends can crash the server.
 */
export function listen(state: ServerState): Promise<net.Server> {
  const server = net.createServer((socket) => {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const conn = new Connection(socket, peer, state.config.maxLine);
    void greet(state, conn).catch((e) => log('error', `${peer}: ${reason(e)}`));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: state.config.ip, port: state.config.port }, () => {
      server.off('error', reject);
      server.on('error', (e) => log('error', `listener: ${reason(e)}`));
      resolve(server);
    });
  });
}

async function greet(state: ServerState, conn: Connection): Promise<void> {
  const timer = setTimeout(() => void conn.fail(`no hello within ${HELLO_TIMEOUT_MS / 1000} s`, 'timeout'), HELLO_TIMEOUT_MS);
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
  if (hello.version !== PROTOCOL_VERSION) {
    log('warn', `${conn.peer}: protocol version ${hello.version}, this server speaks ${PROTOCOL_VERSION}; disconnecting`);
    await conn.fail(`protocol version mismatch: you speak ${hello.version}, this server speaks ${PROTOCOL_VERSION} (upgrade the older side)`, 'version_mismatch');
    return;
  }
  if (hello.role === 'worker') await runWorkerSession(state, conn, hello.worker);
  else await runClientSession(state, conn);
}
