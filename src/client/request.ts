import type { Connection } from '../protocol/connection.js';
import { decodeServerMessage } from '../protocol/decode.js';
import { dial, type Remote } from '../protocol/dial.js';
import type { ClientMessage, ServerMessage } from '../protocol/messages.js';
import { describeTarget } from '../protocol/transport.js';
import { BuilderError, reason } from '../shared/errors.js';

/**
 * Longest reply line the client accepts: it trusts its server, and a reply
 * such as `info --all` on a long queue is one big line (the server's own
 * limit for what peers send it stays small).
 */
export const CLIENT_MAX_LINE = 256 << 20;

/** How long the client waits, by default, for the server to connect, welcome and start answering. */
export const DEFAULT_WAIT_S = 30;

/** The server as a client command sees it: where, how, and how long to wait for it. */
export interface ClientRemote extends Remote {
  /** Milliseconds of silence from the server (connecting, the welcome, the reply) before the client gives up. */
  waitMs: number;
}

/** The wait of a connection whose first reply has not come yet; it ends when the reply starts arriving. */
const deadlines = new WeakMap<Connection, { stop(): void; expired(): boolean; remote: ClientRemote }>();

function timeoutError(remote: ClientRemote): BuilderError {
  const where = describeTarget(remote.host, remote.port, remote);
  return new BuilderError('timeout', `${where} did not answer within ${remote.waitMs / 1000} s (is builder-server stopped or overloaded? --reply-timeout SECONDS waits longer)`);
}

/**
 * Opens a client connection and sends one command; the caller reads the
 * replies. Until the first reply, silence from the server for `waitMs`
 * (a frozen server, a listener that never answers) ends the connection with
 * a timeout error naming the server and the wait. `workMs`: how much longer
 * the server may be silent once the command was sent, for commands whose
 * work grows with their size (schedule --from: fsyncs per job).
 */
export async function open(remote: ClientRemote, msg: ClientMessage, opts: { workMs?: number } = {}): Promise<Connection> {
  const ac = new AbortController();
  let conn: Connection | null = null;
  let expired = false;
  // Silence, not total time: a large reply (info --all) that keeps arriving is not cut off.
  const tick = Math.max(10, Math.min(250, remote.waitMs / 4));
  let quietSince = Date.now();
  let sent = false;
  const timer = setInterval(() => {
    const idle = conn ? conn.idleMs() : Date.now() - quietSince;
    if (idle < remote.waitMs + (sent ? (opts.workMs ?? 0) : 0)) return;
    expired = true;
    ac.abort();
    conn?.destroy();
  }, tick);
  const deadline = { stop: () => clearInterval(timer), expired: () => expired, remote };
  try {
    // The credential (--token-file or $BUILDER_TOKEN) travels in `remote`: dial puts it in the hello.
    // The command rides with the hello (dial's `then`): one round trip, not two.
    conn = (await dial(remote, { role: 'client' }, { maxLine: CLIENT_MAX_LINE, signal: ac.signal, then: msg })).conn;
    quietSince = Date.now();
    sent = true;
  } catch (e) {
    deadline.stop();
    conn?.destroy();
    throw expired ? timeoutError(remote) : e;
  }
  deadlines.set(conn, deadline);
  return conn;
}

/** Reads the next server line; a `failure` becomes a BuilderError with the server's message. */
export async function reply(conn: Connection): Promise<ServerMessage> {
  const deadline = deadlines.get(conn);
  let m: ServerMessage;
  try {
    m = decodeServerMessage(await conn.readLine());
  } catch (e) {
    conn.destroy();
    deadline?.stop();
    if (deadline?.expired()) throw timeoutError(deadline.remote);
    throw new BuilderError('no_reply', `${conn.peer}: no answer from the server: ${reason(e)}`, { cause: e });
  }
  if (deadline) {
    deadline.stop();
    deadlines.delete(conn);
  }
  if (m.type === 'failure') {
    conn.destroy();
    throw new BuilderError(m.code ?? 'failure', m.message);
  }
  return m;
}

/** Sends one command and returns its single reply. */
export async function request(remote: ClientRemote, msg: ClientMessage): Promise<ServerMessage> {
  const conn = await open(remote, msg);
  try {
    return await reply(conn);
  } finally {
    conn.destroy();
  }
}
