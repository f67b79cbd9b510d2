import type { ArtifactInfo, Outcome } from '../../protocol/types.js';
import type { ServerState } from '../core/state.js';

/** What the status page shows of one stored result. */
export interface ResultSummary {
  runId: string;
  name: string;
  platform: string;
  started: string;
  finished: string;
  outcome: Outcome;
  artifacts: ArtifactInfo[];
}

// Summaries of results/<job>/<run-id>/result.json, read once per run id: a
// result does not change once stored, so a page view re-reads only the
// directory listing (which also sees results removed by hand).
const caches = new WeakMap<ServerState, Map<string, ResultSummary>>();

/** Every stored result in the spool's results/ directory, newest finished first. */
export async function storedResults(state: ServerState): Promise<ResultSummary[]> {
  let cache = caches.get(state);
  if (!cache) caches.set(state, (cache = new Map()));
  const ids = await state.spool.resultIds();
  const seen = new Set<string>();
  for (const { name, runId } of ids) {
    seen.add(runId);
    if (cache.has(runId)) continue;
    const r = await state.spool.readResult(name, runId).catch(() => null);
    if (!r || r.run_id !== runId || r.job.name !== name) continue;
    cache.set(runId, { runId, name, platform: r.job.platform, started: r.started, finished: r.finished, outcome: r.outcome, artifacts: r.artifacts });
  }
  for (const id of cache.keys()) if (!seen.has(id)) cache.delete(id);
  return [...cache.values()].sort((a, b) => b.finished.localeCompare(a.finished));
}

/** The newest stored result of each job name. */
export function lastResultByJob(results: ResultSummary[]): Map<string, ResultSummary> {
  const out = new Map<string, ResultSummary>();
  for (const r of results) if (!out.has(r.name)) out.set(r.name, r);
  return out;
}
