import type { ServerState } from '../core/state.js';
import type { WorkerPeer } from '../core/worker-peer.js';

// Workers that disconnected, newest first, for the status page's "last
// seen" rows: a bounded list in memory (a restart forgets it), fed by the
// core's worker_lost event, one entry per platform and host, so a --once
// worker reconnecting for every job does not push the others out.

/** What is remembered of a worker that went away. */
export interface DepartedWorker {
  id: string;
  platform: string;
  hostname: string;
  peer: string;
  system: string;
  since: string;
  lastSeen: string;
  why: string;
}

/** How many departed workers are remembered. */
export const DEPARTED_KEPT = 50;

const lists = new WeakMap<ServerState, DepartedWorker[]>();

/** Subscribes to the core's worker_lost events; returns the unsubscribe. */
export function followDepartures(state: ServerState): () => void {
  return state.events.on('worker_lost', ({ worker, why }) => rememberDeparted(state, worker, why));
}

/** Records that a worker disconnected (and why); drops the oldest beyond DEPARTED_KEPT. */
export function rememberDeparted(state: ServerState, w: WorkerPeer, why: string, now = new Date()): void {
  let list = lists.get(state);
  if (!list) lists.set(state, (list = []));
  const i = list.findIndex((d) => d.platform === w.facts.platform && d.hostname === w.facts.hostname);
  if (i >= 0) list.splice(i, 1);
  const f = w.facts;
  list.unshift({ id: w.id, platform: f.platform, hostname: f.hostname, peer: w.peer, system: `${f.os} ${f.release} ${f.arch}`, since: w.since, lastSeen: now.toISOString(), why });
  if (list.length > DEPARTED_KEPT) list.length = DEPARTED_KEPT;
}

/** Departed workers, newest first, without those whose platform and host are connected again. */
export function departedWorkers(state: ServerState): DepartedWorker[] {
  const back = new Set([...state.workers.values()].map((w) => `${w.facts.platform}\0${w.facts.hostname}`));
  return (lists.get(state) ?? []).filter((d) => !back.has(`${d.platform}\0${d.hostname}`));
}
