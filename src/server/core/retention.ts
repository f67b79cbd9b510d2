import { existsSync } from 'node:fs';
import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import type { ServerState } from './state.js';
import { resultIndex } from './stored-results.js';

/** Subscribes retention to the core: with --keep N, each stored run may remove its job's oldest results. */
export function keepNewestResults(state: ServerState): void {
  if (state.config.keep > 0) state.events.on('run_stored', ({ result }) => pruneResults(state, result.job.name));
}

/**
 * Keeps the newest `--keep` results of a job and removes the older ones
 * safely: each is renamed into tmp/ first (atomic: it is either still a
 * result or already gone), then deleted; a crash meanwhile leaves it in tmp/,
 * which is swept at the next start. Results not yet uploaded are kept.
 */
export async function pruneResults(state: ServerState, name: string): Promise<void> {
  const ix = await resultIndex(state);
  const runs = ix.ofJob(name).filter((e) => state.results.has(e.run_id));
  const excess = runs.length - state.config.keep;
  if (excess <= 0) return;
  for (const r of runs.slice(0, excess)) {
    // A result still waiting in the upload outbox is kept until it is delivered.
    if (existsSync(state.spool.path('outbox', `${r.run_id}.json`))) continue;
    try {
      await state.spool.removeResult(name, r.run_id);
      state.results.delete(r.run_id);
      ix.remove(r.run_id);
      log('info', `removed result ${r.run_id} of ${name} (--keep ${state.config.keep})`, r.run_id);
    } catch (e) {
      log('error', `cannot remove old result ${r.run_id} of ${name}: ${reason(e)}`, r.run_id);
    }
  }
}
