import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { log } from '../../../shared/log.js';
import { dispatch } from '../../core/dispatch.js';
import { setPlatform } from '../../core/platforms.js';
import type { ServerState } from '../../core/state.js';

/** `resume`: dispatches to a paused platform again (a platform not paused: success, with a note). */
export async function handleResume(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'resume' }>): Promise<void> {
  // Idempotent: resuming what is not paused is what the operator wanted already.
  if (!state.paused.has(m.platform)) return conn.send({ type: 'success', message: `${m.platform} is not paused: nothing to do` });
  await setPlatform(state, m.platform, { paused: false });
  log('info', `resumed ${m.platform}`);
  void dispatch(state, m.platform);
  await conn.send({ type: 'success', message: `resumed ${m.platform}` });
}
