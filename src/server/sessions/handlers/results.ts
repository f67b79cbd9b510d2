import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage, ResultSummary } from '../../../protocol/messages.js';
import { BuilderError } from '../../../shared/errors.js';
import type { ResultRecord } from '../../../spool/records.js';
import type { ServerState } from '../../core/state.js';
import { groupSummary } from '../../core/verify.js';

/** A stored result as `results` lists it. */
export function summarize(r: ResultRecord): ResultSummary {
  return {
    run_id: r.run_id,
    name: r.job.name,
    platform: r.job.platform,
    started: r.started,
    finished: r.finished,
    duration_s: Math.max(0, (Date.parse(r.finished) - Date.parse(r.started)) / 1000),
    outcome: r.outcome,
    artifacts: r.artifacts.length,
    size: r.artifacts.reduce((n, a) => n + a.size, 0),
    files: r.artifacts,
  };
}

/** `results`: the newest finished runs (of one job, or of all), newest first. */
export async function handleResults(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'results' }>): Promise<void> {
  const limit = m.limit ?? 50;
  let names: string[];
  if (m.name) {
    const known = state.schedule.has(m.name) || [...state.results.values()].includes(m.name);
    if (!known) throw new BuilderError('unknown_job', `no job named ${m.name} is scheduled or has results (see: builder-client info)`);
    names = [m.name];
  } else names = [...new Set(state.results.values())];
  const all: ResultRecord[] = [];
  for (const n of names) all.push(...(await state.spool.listResultsOf(n)));
  all.sort((a, b) => b.finished.localeCompare(a.finished));
  const shown = all.slice(0, limit).map((r) => ({ ...summarize(r), ...(r.group ? { group: groupSummary(state, r.group) } : {}) }));
  await conn.send({ type: 'results_reply', results: shown });
}
