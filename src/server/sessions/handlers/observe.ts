import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { BuilderError } from '../../../shared/errors.js';
import { observeRun } from '../observe.js';
import type { ServerState } from '../../core/state.js';

/** `observe`: replays a run's console from line `from`, follows it live, ends with run_end. */
export async function handleObserve(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'observe' }>): Promise<void> {
  const found = await observeRun(state, conn, m.run_id, m.from ?? 0);
  if (!found) throw new BuilderError('unknown_run', `no run with id ${m.run_id} is running or stored (see: builder-client info)`);
}
