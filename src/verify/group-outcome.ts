import { describeOutcome } from '../protocol/types.js';
import type { GroupMember, GroupOutcome, GroupRecord } from '../spool/groups.js';
import { compareArtifacts, whyDifferent } from './compare-artifacts.js';

// Pure: the outcome of a verify group once every build has finished, and
// what set its builders apart.

/** Whether every member has an outcome (its final run stored, or it was removed). */
export function allFinished(members: readonly GroupMember[]): boolean {
  return members.every((m) => m.outcome !== null);
}

/**
 * A group's outcome: `incomplete` when any build did not exit 0 (or never
 * ran); else `differs` with each path whose presence, size or hash is not
 * the same in every build; else `reproducible`.
 */
export function decideGroup(members: readonly GroupMember[]): GroupOutcome {
  const failed = members.filter((m) => !(m.outcome?.kind === 'exited' && m.outcome.code === 0));
  if (failed.length > 0) {
    const said = failed.map((m) => `build ${m.index}${m.run_id ? ` (${m.run_id})` : ''} ${m.outcome ? describeOutcome(m.outcome) : 'did not finish'}`);
    return { kind: 'incomplete', message: said.join('; ') };
  }
  const paths = compareArtifacts(members.map((m) => m.artifacts))
    .filter((c) => c.status !== 'same')
    .map((c) => ({ path: c.path, why: whyDifferent(c) }));
  return paths.length > 0 ? { kind: 'differs', paths } : { kind: 'reproducible' };
}

/** `hosts` when every build ran on its own host, `workers` when some shared a host (different processes), null when not all ran. */
export function distinctOf(members: readonly GroupMember[]): 'hosts' | 'workers' | null {
  if (members.some((m) => m.worker === null)) return null;
  return new Set(members.map((m) => m.worker!.hostname)).size === members.length ? 'hosts' : 'workers';
}

/**
 * The checked transition of a group record: records one member's outcome;
 * when it was the last, the group is decided. A decided group, or a member
 * that already has an outcome, is never changed (returns null).
 */
export function settleMember(g: GroupRecord, member: GroupMember, now: Date): GroupRecord | null {
  if (g.phase === 'decided') return null;
  const at = member.index - 1;
  if (!g.members[at] || g.members[at]!.outcome !== null) return null;
  const members = g.members.map((m, i) => (i === at ? member : m));
  if (!allFinished(members)) return { ...g, members };
  return { ...g, members, phase: 'decided', outcome: decideGroup(members), decided: now.toISOString(), distinct: distinctOf(members) };
}
