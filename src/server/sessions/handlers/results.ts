import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage, ResultSummary } from '../../../protocol/messages.js';
import { BuilderError } from '../../../shared/errors.js';
import type { IndexEntry } from '../../../spool/result-index.js';
import { newestResults, resultIndex } from '../../core/stored-results.js';
import type { ServerState } from '../../core/state.js';
import { groupSummary } from '../../core/verify.js';

/** A stored result as `results` lists it. */
export function summarize(r: IndexEntry): ResultSummary {
  return {
    run_id: r.run_id,
    name: r.name,
    platform: r.platform,
    started: r.started,
    finished: r.finished,
    duration_s: Math.max(0, (Date.parse(r.finished) - Date.parse(r.started)) / 1000),
    outcome: r.outcome,
    artifacts: r.artifacts,
    size: r.size,
  };
}

/** `results`: the newest finished runs (of one job, or of all), newest first, from the results index. */
export async function handleResults(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'results' }>): Promise<void> {
  const limit = m.limit ?? 50;
  const name = m.name;
  if (name !== undefined) {
    const known = state.schedule.has(name) || (await resultIndex(state)).ofJob(name).some((e) => state.results.has(e.run_id));
    if (!known) throw new BuilderError('unknown_job', `no job named ${name} is scheduled or has results (see: builder-client info)`);
  }
  const found = await newestResults(state, limit, name === undefined ? undefined : (e) => e.name === name);
  // why read these: only the runs shown (at most --limit) are opened, for their artifact hashes and verify group.
  const shown = await Promise.all(
    found.map(async (e) => {
      const r = await state.spool.readResult(e.name, e.run_id);
      return { ...summarize(e), ...(r ? { files: r.artifacts } : {}), ...(r?.group ? { group: groupSummary(state, r.group) } : {}) };
    }),
  );
  await conn.send({ type: 'results_reply', results: shown });
}
