import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { BuilderError } from '../../../shared/errors.js';
import { log } from '../../../shared/log.js';
import { dispatch } from '../../core/dispatch.js';
import { setPlatform } from '../../core/platforms.js';
import type { ServerState } from '../../core/state.js';

/** `resume`: dispatches to a paused platform again. */
export async function handleResume(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'resume' }>): Promise<void> {
  if (!state.paused.has(m.platform)) throw new BuilderError('not_paused', `platform ${m.platform} is not paused`);
  await setPlatform(state, m.platform, { paused: false });
  log('info', `resumed ${m.platform}`);
  void dispatch(state, m.platform);
  await conn.send({ type: 'success', message: `resumed ${m.platform}` });
}
