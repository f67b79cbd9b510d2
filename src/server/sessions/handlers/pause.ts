import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { log } from '../../../shared/log.js';
import { knownPlatforms, setPlatform } from '../../core/platforms.js';
import type { ServerState } from '../../core/state.js';
import { platformWarnings } from './platform-warning.js';

/**
 * `pause`: stops dispatching to a platform; its queue is kept and grows;
 * survives restarts. Pausing again is a success with a note; a platform the
 * server does not know is paused too (ahead of its workers) with a warning.
 */
export async function handlePause(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'pause' }>): Promise<void> {
  const p = m.platform;
  if (state.paused.has(p)) return conn.send({ type: 'success', message: `${p} is already paused (resume ${p} to continue)` });
  const known = knownPlatforms(state).has(p);
  const warnings = known ? [] : await platformWarnings(state, [p]);
  await setPlatform(state, p, { paused: true });
  log('info', `paused ${p}: no jobs are handed to its workers until resume`);
  const n = state.queues.list(p).length;
  await conn.send({
    type: 'success',
    message: `paused ${p} (${n} queued job${n === 1 ? '' : 's'} wait${n === 1 ? 's' : ''}; resume ${p} to continue)`,
    ...(warnings.length || !known ? { warnings: warnings.length ? warnings : [`${p} was not known to this server (no queue, worker or schedule entry)`] } : {}),
  });
}
