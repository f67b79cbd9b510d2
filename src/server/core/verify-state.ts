import type { GroupRecord } from '../../spool/groups.js';
import type { Builder } from '../../verify/pick-builder.js';
import type { ServerState, WorkerPeer } from './state.js';

// What the server holds in memory about verify groups (see verify.ts), kept
// apart so that dispatching (verify-pairing.ts) needs nothing else of them.

/** A server's verify groups in memory. */
export interface VerifyState {
  /** Every group; decided ones without their members' artifact lists (pages read the record). */
  groups: Map<string, GroupRecord>;
  /** group id -> member index -> who builds or built it. */
  builders: Map<string, Map<number, Builder>>;
  /** One update at a time per group. */
  chains: Map<string, Promise<void>>;
}

const registry = new WeakMap<ServerState, VerifyState>();

/** The verify state of a server (created on first use). */
export function verifyOf(state: ServerState): VerifyState {
  let v = registry.get(state);
  if (!v) registry.set(state, (v = { groups: new Map(), builders: new Map(), chains: new Map() }));
  return v;
}

/** Who a connected worker is for the different-workers rule: its host and its process. */
export function builderOf(w: WorkerPeer): Builder {
  return { host: w.facts.hostname, process: w.facts.instance ?? `connection ${w.id}` };
}

/** Notes who builds (or built) one member of a group. */
export function noteBuilder(v: VerifyState, tag: { id: string; index: number }, b: Builder): void {
  let m = v.builders.get(tag.id);
  if (!m) v.builders.set(tag.id, (m = new Map()));
  m.set(tag.index, b);
}
