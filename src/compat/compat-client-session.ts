import { decodeClientMessage } from '../protocol/decode.js';
import type { ClientMessage } from '../protocol/messages.js';
import { BuilderError, reason } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { followConsole } from '../server/core/follow-console.js';
import type { ServerState } from '../server/core/state.js';
import { handleDropPlatform } from '../server/sessions/handlers/drop-platform.js';
import { handleExecute } from '../server/sessions/handlers/execute.js';
import { handleOrbBuild } from '../server/sessions/handlers/orb-build.js';
import { handleReschedule } from '../server/sessions/handlers/reschedule.js';
import { handleSchedule } from '../server/sessions/handlers/schedule.js';
import { handleUndropPlatform } from '../server/sessions/handlers/undrop-platform.js';
import { handleUnschedule } from '../server/sessions/handlers/unschedule.js';
import { originalOutcomeText, type Cmd } from './cmd.js';
import { compatInfo } from './compat-info.js';
import type { CompatConnection } from './compat-connection.js';

/**
 * One original client, after its hello: server_hello, one command, its
 * replies, close. Each command becomes the message our own client would
 * send, checked by the same decoder (names, periods, times) and answered by
 * the same handler; a handler's `success` goes out as Success, a refusal as
 * Failure(message). As the original does, info_reply and an observe's
 * output are followed by Success.
 */
export async function runCompatClientSession(state: ServerState, conn: CompatConnection): Promise<void> {
  await conn.sendCmd({ type: 'server_hello' });
  const idleMs = state.config.limits.helloTimeoutMs;
  const idle = setTimeout(() => void conn.fail(`no command within ${idleMs / 1000} s`, 'timeout'), idleMs);
  let frame;
  try {
    frame = await conn.readFrame();
  } finally {
    clearTimeout(idle);
  }
  if (frame.kind !== 'cmd') throw new BuilderError('bad_message', `${conn.peer}: a client sent job_finished`);
  try {
    await handle(state, conn, frame.cmd);
  } catch (e) {
    if (!(e instanceof BuilderError)) log('error', `original client ${conn.peer}: ${reason(e)}`);
    const code = (e as { code?: string }).code;
    if (code === 'connection_closed' || code === 'connection_error') return;
    await conn.sendCmd({ type: 'failure', message: reason(e) });
  }
  conn.close();
}

/** Our own client message for a command, through the one decoder every client message passes. */
function ours<T extends ClientMessage['type']>(m: { type: T } & Record<string, unknown>): Extract<ClientMessage, { type: T }> {
  return decodeClientMessage(JSON.stringify(m)) as Extract<ClientMessage, { type: T }>;
}

async function handle(state: ServerState, conn: CompatConnection, c: Cmd): Promise<void> {
  switch (c.type) {
    case 'schedule':
      return handleSchedule(state, conn, ours({ type: 'schedule', job: { ...c.job, period: c.period } }));
    case 'schedule_orb_build':
      return handleOrbBuild(state, conn, ours({ type: 'orb_build', name: c.name, opam_package: c.opam_package, period: c.period }));
    case 'unschedule':
      return handleUnschedule(state, conn, ours({ type: 'unschedule', name: c.name }));
    case 'execute':
      return handleExecute(state, conn, ours({ type: 'execute', name: c.name, ...(c.platform !== null ? { platform: c.platform } : {}) }));
    case 'reschedule':
      return handleReschedule(state, conn, ours({ type: 'reschedule', name: c.name, next: c.next.toISOString(), ...(c.period ? { period: c.period } : {}) }));
    case 'drop_platform':
      return handleDropPlatform(state, conn, ours({ type: 'drop_platform', platform: c.platform }));
    case 'undrop_platform':
      return handleUndropPlatform(state, conn, ours({ type: 'undrop_platform', platform: c.platform }));
    case 'info':
      await conn.sendCmd({ type: 'info_reply', info: compatInfo(state) });
      return conn.sendCmd({ type: 'success' });
    case 'observe':
      return observe(state, conn, c.uuid);
    default:
      throw new BuilderError('bad_message', `unexpected ${c.type} from a client`);
  }
}

/**
 * The run's console from its first line, then live until it ends; the last
 * output_timestamped carries the outcome in the original's words ("exited 0").
 * Unlike the original, a stored run is replayed too, and no line is dropped.
 */
async function observe(state: ServerState, conn: CompatConnection, runId: string): Promise<void> {
  let last = 0;
  const end = await followConsole(state, runId, 0, async (_n, line) => {
    last = line.t;
    await conn.sendCmd({ type: 'output_timestamped', uuid: runId, ts: line.t, line: line.line });
  });
  if (!end) throw new BuilderError('unknown_run', `uuid not found: no run with id ${runId} is running or stored`);
  const name = state.results.get(runId);
  const stored = name ? await state.spool.readResult(name, runId) : null;
  const ts = stored ? Math.max(last, (Date.parse(stored.finished) - Date.parse(stored.started)) * 1e6) : last;
  const text = end.outcome ? originalOutcomeText(end.outcome) : 'execution aborted: the run did not end (the server stopped)';
  await conn.sendCmd({ type: 'output_timestamped', uuid: runId, ts, line: text });
  await conn.sendCmd({ type: 'success' });
}
