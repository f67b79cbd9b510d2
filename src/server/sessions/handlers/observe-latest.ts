import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { BuilderError } from '../../../shared/errors.js';
import { observeRun } from '../observe.js';
import { isActive } from '../../core/run-phase.js';
import type { ServerState } from '../../core/state.js';
import { resultIndex } from '../../core/stored-results.js';

/** `observe_latest`: observes the newest run (running first, else stored) of a job and/or platform. */
export async function handleObserveLatest(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'observe_latest' }>): Promise<void> {
  const fits = (job: { name: string; platform: string }) => (!m.job || job.name === m.job) && (!m.platform || job.platform === m.platform);
  const running = [...state.runs.values()].filter((r) => isActive(r) && fits(r.record.job)).sort((a, b) => b.record.started.localeCompare(a.record.started));
  let runId: string | undefined = running[0]?.record.run_id;
  if (!runId) {
    const ix = await resultIndex(state);
    runId = ix.latestStarted((e) => state.results.has(e.run_id) && fits(e))?.run_id;
  }
  const what = [m.job ? `job ${m.job}` : '', m.platform ? `platform ${m.platform}` : ''].filter(Boolean).join(' on ') || 'any job';
  if (!runId || !(await observeRun(state, conn, runId, m.from ?? 0, m.print))) throw new BuilderError('unknown_run', `no run of ${what} is running or stored`);
}
