/** The server's results index: opened once after loading, kept current from run_stored; results, observe-latest and retention ask it instead of reading every result.json. */
import { ResultIndex, type IndexEntry } from '../../spool/result-index.js';
import type { ServerState } from './state.js';

const indexes = new WeakMap<ServerState, Promise<ResultIndex>>();

/** The index of a server's stored results (opened, and repaired against state.results, on the first call). */
export function resultIndex(state: ServerState): Promise<ResultIndex> {
  let p = indexes.get(state);
  if (!p) {
    p = ResultIndex.open(state.spool.dir, state.results, (name, runId) => state.spool.readResult(name, runId));
    indexes.set(state, p);
  }
  return p;
}

/** Subscribes the index to the core: each stored run is added once the index is open. */
export function indexStoredRuns(state: ServerState): void {
  state.events.on('run_stored', ({ result }) => {
    void resultIndex(state).then((ix) => ix.add(result));
  });
}

/** Up to `limit` stored results accepted by `keep`, newest finished first; results removed meanwhile (uploaded, pruned) are left out. */
export async function newestResults(state: ServerState, limit: number, keep: (e: IndexEntry) => boolean = () => true): Promise<IndexEntry[]> {
  const ix = await resultIndex(state);
  return ix.newest(limit, (e) => state.results.has(e.run_id) && keep(e));
}
