import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage, RunArtifacts } from '../../../protocol/messages.js';
import type { ServerState } from '../../core/state.js';
import { groupSummary } from '../../core/verify.js';
import { resolveRunId } from './resolve-run-id.js';
import { storedResult } from './stored-result.js';

/** One stored run's artifact list (with hashes) for `compare`. */
async function runArtifacts(state: ServerState, runId: string): Promise<RunArtifacts> {
  const { result: r } = await storedResult(state, runId, 'compare');
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
