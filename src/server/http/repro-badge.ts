import type { ServerState } from '../core/state.js';
import type { FoundRun } from './run-files.js';

// The place on a run's page for its reproducibility badge (whether other
// runs of the same job built the same artifacts): one fact row beside the
// outcome. Filled in by the verify-groups work; until then no row.

/** The badge's HTML for a run's facts, or null when there is nothing to say. */
export async function reproBadge(_state: ServerState, _runId: string, _found: FoundRun): Promise<string | null> {
  return null;
}
