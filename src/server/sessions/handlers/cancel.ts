import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { BuilderError } from '../../../shared/errors.js';
import { stopRun } from '../../core/runs.js';
import { isActive } from '../../core/run-phase.js';
import type { ServerState } from '../../core/state.js';
import { resolveRunId } from './resolve-run-id.js';

/** `cancel`: tells the run's worker to kill its process group; the run is recorded as cancelled and not requeued. */
export async function handleCancel(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'cancel' }>): Promise<void> {
  const runId = resolveRunId(state, m.run_id);
  const run = state.runs.get(runId);
  if (!run || !isActive(run)) {
    const stored = state.results.has(runId);
    throw new BuilderError('unknown_run', stored ? `run ${runId} has already finished` : `no run with id ${runId} is running (see: builder-client info)`);
  }
  stopRun(state, run, `cancelled by an operator (${conn.peer})`, false);
  await conn.send({ type: 'success', message: `cancelling ${run.record.job.name} (${runId}) on worker ${run.worker.id}` });
}
