import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';

/** The part of a connection a worker session's end needs (ours and the original's). */
interface Closable {
  peer: string;
  fail(message: string, code: string): Promise<void>;
}

/**
 * Why a worker session ended, from the error that ended it, logged once: a
 * protocol error (one of `protocolCodes`) is answered with a failure and
 * disconnects; a closed connection is the ordinary end (null: keep the
 * session's own reason); anything else is logged as an error.
 */
export async function workerSessionEnded(e: unknown, workerId: string, conn: Closable, protocolCodes: string[]): Promise<string | null> {
  const code = (e as { code?: string }).code;
  if (code !== undefined && protocolCodes.includes(code)) {
    log('warn', `worker ${workerId} (${conn.peer}): ${reason(e)}; disconnecting`);
    await conn.fail(reason(e), code);
    return `protocol error: ${reason(e)}`;
  }
  if (code === 'connection_closed' || code === 'connection_error') return null;
  log('error', `worker ${workerId} (${conn.peer}): ${reason(e)}`);
  return reason(e);
}
