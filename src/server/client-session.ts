import type { Connection } from '../protocol/connection.js';
import { decodeClientMessage } from '../protocol/decode.js';
import { BuilderError, reason } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { PROTOCOL_VERSION, VERSION } from '../shared/version.js';
import { handleExecute } from './handlers/execute.js';
import { handleInfo } from './handlers/info.js';
import { handleObserve } from './handlers/observe.js';
import { handleSchedule } from './handlers/schedule.js';
import { handleUnschedule } from './handlers/unschedule.js';
import type { ServerState } from './state.js';

/**
 * One client's conversation: welcome, read one command, answer it, close.
 * Each command has one handler, named after it (client/commands/<name>.ts
 * on the other side). A handler throws a BuilderError for an expected
 * failure; it becomes one `failure` line.
 */
export async function runClientSession(state: ServerState, conn: Connection): Promise<void> {
  try {
    await conn.send({ type: 'welcome', version: PROTOCOL_VERSION, server: `builder-server ${VERSION}`, heartbeat_ms: state.config.heartbeatMs });
    const m = decodeClientMessage(await conn.readLine());
    switch (m.type) {
      case 'schedule':
        await handleSchedule(state, conn, m);
        break;
      case 'unschedule':
        await handleUnschedule(state, conn, m);
        break;
      case 'execute':
        await handleExecute(state, conn, m);
        break;
      case 'info':
        await handleInfo(state, conn);
        break;
      case 'observe':
        await handleObserve(state, conn, m);
        break;
      default: {
        const never: never = m;
        throw new Error(`unhandled client command ${JSON.stringify(never)}`);
      }
    }
    conn.close();
  } catch (e) {
    const code = e instanceof BuilderError ? e.code : 'internal';
    if (code === 'connection_closed' || code === 'connection_error') return;
    if (!(e instanceof BuilderError)) log('error', `client ${conn.peer}: ${reason(e)}`);
    await conn.fail(reason(e), code);
  }
}
