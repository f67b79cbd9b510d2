import { BuilderError } from '../../../shared/errors.js';
import type { ResultRecord } from '../../../spool/records.js';
import type { ServerState } from '../../core/state.js';

/** The stored result of a finished run (job name and record), or a one-line error saying why there is none; `verb` names the command for the hint. */
export async function storedResult(state: ServerState, runId: string, verb: string): Promise<{ name: string; result: ResultRecord }> {
  const name = state.results.get(runId);
  if (!name) {
    const running = state.runs.has(runId);
    throw new BuilderError('unknown_run', running ? `run ${runId} is still running; ${verb} it when it has finished` : `no stored run with id ${runId} (see: builder-client results)`);
  }
  const result = await state.spool.readResult(name, runId);
  if (!result) throw new BuilderError('unknown_run', `the result of run ${runId} cannot be read (see the server log)`);
  return { name, result };
}
