import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { BuilderError } from '../../../shared/errors.js';
import { stopRun } from '../../core/runs.js';
import { isActive } from '../../core/run-phase.js';
import type { ServerState } from '../../core/state.js';

/** `cancel`: tells the run's worker to kill its process group; the run is recorded as cancelled and not requeued. */
export async function handleCancel(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'cancel' }>): Promise<void> {
  const run = state.runs.get(m.run_id);
  if (!run || !isActive(run)) {
    const stored = state.results.has(m.run_id);
    throw new BuilderError('unknown_run', stored ? `run ${m.run_id} has already finished` : `no run with id ${m.run_id} is running (see: builder-client info)`);
  }
  stopRun(state, run, `cancelled by an operator (${conn.peer})`, false);
  await conn.send({ type: 'success', message: `cancelling ${run.record.job.name} (${m.run_id}) on worker ${run.worker.id}` });
}
