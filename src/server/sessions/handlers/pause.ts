import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { log } from '../../../shared/log.js';
import { setPlatform } from '../../core/platforms.js';
import type { ServerState } from '../../core/state.js';

/** `pause`: stops dispatching to a platform; its queue is kept and grows; survives restarts. */
export async function handlePause(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'pause' }>): Promise<void> {
  await setPlatform(state, m.platform, { paused: true });
  log('info', `paused ${m.platform}: no jobs are handed to its workers until resume`);
  await conn.send({ type: 'success', message: `paused ${m.platform} (${state.queues.list(m.platform).length} queued jobs wait; resume ${m.platform} to continue)` });
}
