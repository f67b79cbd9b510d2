import type { ServerState } from './state.js';

// Names of a `schedule --from` batch being committed: its files are renamed
// into schedule/ outside the server's lock (100,000 renames take seconds),
// so meanwhile its names are reserved: another `schedule` of one of them is
// refused as a duplicate, and the spool watcher leaves their files alone
// (the batch puts them in memory itself once all are in place).

const reserved = new WeakMap<object, Set<string>>();

function of(state: ServerState): Set<string> {
  let s = reserved.get(state);
  if (!s) reserved.set(state, (s = new Set()));
  return s;
}

/** Whether a batch being committed holds this job name. */
export function isReserved(state: ServerState, name: string): boolean {
  return reserved.get(state)?.has(name) ?? false;
}

/** Reserves names (the caller checked, under the lock, that none is scheduled or reserved). */
export function reserveNames(state: ServerState, names: Iterable<string>): void {
  const s = of(state);
  for (const n of names) s.add(n);
}

/** Gives reserved names back. */
export function releaseNames(state: ServerState, names: Iterable<string>): void {
  const s = of(state);
  for (const n of names) s.delete(n);
}
