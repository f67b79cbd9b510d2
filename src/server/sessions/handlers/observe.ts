import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { BuilderError } from '../../../shared/errors.js';
import { observeRun } from '../observe.js';
import type { ServerState } from '../../core/state.js';
import { resolveRunId } from './resolve-run-id.js';

/** `observe`: replays a run's console from line `from`, follows it live, ends with run_end. */
export async function handleObserve(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'observe' }>): Promise<void> {
  const runId = resolveRunId(state, m.run_id);
  const found = await observeRun(state, conn, runId, m.from ?? 0, m.print);
  if (!found) throw new BuilderError('unknown_run', `no run with id ${runId} is running or stored (see: builder-client info)`);
}
