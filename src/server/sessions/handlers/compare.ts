import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage, RunArtifacts } from '../../../protocol/messages.js';
import { BuilderError } from '../../../shared/errors.js';
import type { ServerState } from '../../core/state.js';
import { groupSummary } from '../../core/verify.js';
import { resolveRunId } from './resolve-run-id.js';

/** One stored run's artifact list (with hashes) for `compare`. */
async function runArtifacts(state: ServerState, runId: string): Promise<RunArtifacts> {
  const name = state.results.get(runId);
  if (!name) {
    const running = state.runs.has(runId);
    throw new BuilderError('unknown_run', running ? `run ${runId} is still running; compare it when it has finished` : `no stored run with id ${runId} (see: builder-client results)`);
  }
  const r = await state.spool.readResult(name, runId);
  if (!r) throw new BuilderError('unknown_run', `the result of run ${runId} cannot be read (see the server log)`);
  const w = r.worker;
  return {
    run_id: r.run_id,
    name: r.job.name,
    platform: r.job.platform,
    outcome: r.outcome,
    worker: w ? { id: w.id, hostname: w.facts.hostname, ...(w.facts.instance ? { instance: w.facts.instance } : {}) } : null,
    artifacts: r.artifacts,
    ...(r.group ? { group: groupSummary(state, r.group) } : {}),
  };
}

/** `compare`: the artifact lists (path, size, mode, sha256) of two stored runs; the client lines them up and fetches what it shows. */
export async function handleCompare(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'compare' }>): Promise<void> {
  // Prefixes are accepted here as wherever a run id is.
  const [a, b] = m.run_ids.map((id) => resolveRunId(state, id)) as [string, string];
  await conn.send({ type: 'compare_reply', runs: [await runArtifacts(state, a), await runArtifacts(state, b)] });
}
