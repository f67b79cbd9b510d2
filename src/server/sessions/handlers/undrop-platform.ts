import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { log } from '../../../shared/log.js';
import { setPlatform } from '../../core/platforms.js';
import type { ServerState } from '../../core/state.js';

/** `undrop_platform`: accepts jobs and workers for a dropped platform again (its old queue and entries are gone). */
export async function handleUndropPlatform(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'undrop_platform' }>): Promise<void> {
  if (!state.dropped.has(m.platform)) return conn.send({ type: 'success', message: `${m.platform} is not dropped: nothing to do` });
  await setPlatform(state, m.platform, { dropped: false });
  log('info', `undropped platform ${m.platform}`);
  await conn.send({ type: 'success', message: `${m.platform} accepts jobs and workers again` });
}
