import type { Connection } from '../protocol/connection.js';
import { decodeServerMessage } from '../protocol/decode.js';
import { dial, type Remote } from '../protocol/dial.js';
import type { ClientMessage, ServerMessage } from '../protocol/messages.js';
import { BuilderError, reason } from '../shared/errors.js';

/**
 * Longest reply line the client accepts: it trusts its server, and a reply
 * such as `info --all` on a long queue is one big line (the server's own
 * limit for what peers send it stays small).
 */
export const CLIENT_MAX_LINE = 256 << 20;

/** Opens a client connection and sends one command; the caller reads the replies. */
export async function open(remote: Remote, msg: ClientMessage): Promise<Connection> {
  // The credential (--token-file or $BUILDER_TOKEN) travels in `remote`: dial puts it in the hello.
  const { conn } = await dial(remote, { role: 'client' }, { maxLine: CLIENT_MAX_LINE });
  await conn.send(msg);
  return conn;
}

/** Reads the next server line; a `failure` becomes a BuilderError with the server's message. */
export async function reply(conn: Connection): Promise<ServerMessage> {
  let m: ServerMessage;
  try {
    m = decodeServerMessage(await conn.readLine());
  } catch (e) {
    conn.destroy();
    throw new BuilderError('no_reply', `${conn.peer}: no answer from the server: ${reason(e)}`, { cause: e });
  }
  if (m.type === 'failure') {
    conn.destroy();
    throw new BuilderError(m.code ?? 'failure', m.message);
  }
  return m;
}

/** Sends one command and returns its single reply. */
export async function request(remote: Remote, msg: ClientMessage): Promise<ServerMessage> {
  const conn = await open(remote, msg);
  try {
    return await reply(conn);
  } finally {
    conn.destroy();
  }
}
