import { BuilderError } from '../../../shared/errors.js';
import type { ServerState } from '../../core/state.js';

/** Candidates listed when a prefix is ambiguous. */
const SHOWN = 5;

/**
 * Turns a run id as a client gave it into a whole one: a UUID is returned
 * as it is (the handler says if it is unknown); a prefix must match exactly
 * one running or stored run, else the error names what it matched.
 */
export function resolveRunId(state: ServerState, id: string): string {
  if (id.length === 36) return id;
  const matches = new Set<string>();
  for (const k of state.runs.keys()) if (k.startsWith(id)) matches.add(k);
  for (const k of state.results.keys()) if (k.startsWith(id)) matches.add(k);
  if (matches.size === 1) return [...matches][0]!;
  if (matches.size === 0) throw new BuilderError('unknown_run', `no run id starts with ${id} (see: builder-client info, builder-client results)`);
  const list = [...matches].sort();
  const more = list.length > SHOWN ? ` and ${list.length - SHOWN} more` : '';
  throw new BuilderError('ambiguous_run', `run id ${id} is ambiguous: ${list.slice(0, SHOWN).join(', ')}${more}; give more characters`);
}
