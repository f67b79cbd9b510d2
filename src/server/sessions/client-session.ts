import type { Connection } from '../../protocol/connection.js';
import { decodeClientMessage } from '../../protocol/decode.js';
import { BuilderError, reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { PROTOCOL_VERSION, VERSION } from '../../shared/version.js';
import { handleCancel } from './handlers/cancel.js';
import { handleCompare } from './handlers/compare.js';
import { handleDropPlatform } from './handlers/drop-platform.js';
import { handleExecute } from './handlers/execute.js';
import { handleFetch } from './handlers/fetch.js';
import { handleInfo } from './handlers/info.js';
import { handleObserveLatest } from './handlers/observe-latest.js';
import { handleObserve } from './handlers/observe.js';
import { handleOrbBuild } from './handlers/orb-build.js';
import { handlePause } from './handlers/pause.js';
import { handleReschedule } from './handlers/reschedule.js';
import { handleResults } from './handlers/results.js';
import { handleResume } from './handlers/resume.js';
import { handleScheduleBatch } from './handlers/schedule-batch.js';
import { handleSchedule } from './handlers/schedule.js';
import { handleUndropPlatform } from './handlers/undrop-platform.js';
import { handleUnschedule } from './handlers/unschedule.js';
import type { ServerState } from '../core/state.js';

/**
 * One client's conversation: welcome, read one command, answer it, close.
 * Each command has one handler, named after it (client/commands/<name>.ts
 * on the other side). A handler throws a BuilderError for an expected
 * failure; it becomes one `failure` line.
 */
export async function runClientSession(state: ServerState, conn: Connection): Promise<void> {
  try {
    await conn.send({ type: 'welcome', version: PROTOCOL_VERSION, server: `builder-server ${VERSION}`, heartbeat_ms: state.config.heartbeatMs });
    // An idle client must not hold a connection slot: the command comes within the hello timeout.
    const idle = setTimeout(() => void conn.fail(`no command within ${state.config.limits.helloTimeoutMs / 1000} s`, 'timeout'), state.config.limits.helloTimeoutMs);
    let m;
    try {
      m = decodeClientMessage(await conn.readLine());
    } finally {
      clearTimeout(idle);
    }
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
        await handleInfo(state, conn, m.limit);
        break;
      case 'observe':
        await handleObserve(state, conn, m);
        break;
      case 'schedule_batch':
        await handleScheduleBatch(state, conn, m);
        break;
      case 'orb_build':
        await handleOrbBuild(state, conn, m);
        break;
      case 'reschedule':
        await handleReschedule(state, conn, m);
        break;
      case 'observe_latest':
        await handleObserveLatest(state, conn, m);
        break;
      case 'cancel':
        await handleCancel(state, conn, m);
        break;
      case 'pause':
        await handlePause(state, conn, m);
        break;
      case 'resume':
        await handleResume(state, conn, m);
        break;
      case 'drop_platform':
        await handleDropPlatform(state, conn, m);
        break;
      case 'undrop_platform':
        await handleUndropPlatform(state, conn, m);
        break;
      case 'results':
        await handleResults(state, conn, m);
        break;
      case 'fetch':
        await handleFetch(state, conn, m);
        break;
      case 'compare':
        await handleCompare(state, conn, m);
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
