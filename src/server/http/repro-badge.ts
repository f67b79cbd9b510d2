import type { GroupRecord } from '../../spool/groups.js';
import type { ServerState } from '../core/state.js';
import { latestGroups, readGroupRecord } from '../core/verify.js';
import { badge, esc, pathUrl } from './html.js';
import type { FoundRun } from './run-files.js';

// The reproducibility badge of a verify group (the status page puts the
// latest one beside each job, and one on each build's run page), linking
// to the group's page.

/** A badge for a group: verifying, reproducible, differs or incomplete, linking to /groups/<id>. */
export function groupBadge(g: GroupRecord): string {
  const b =
    g.phase === 'building'
      ? badge(`verifying ${g.members.filter((m) => m.outcome !== null).length}/${g.builds}`, 'run')
      : g.outcome.kind === 'reproducible'
        ? badge('reproducible', 'ok')
        : g.outcome.kind === 'differs'
          ? badge(`differs: ${g.outcome.paths.length} path${g.outcome.paths.length === 1 ? '' : 's'}`, 'bad')
          : badge('incomplete', 'warn');
  return `<a href="/groups/${pathUrl([g.group_id])}" title="verify group ${esc(g.group_id)}">${b}</a>`;
}

/** For one page render: the badge of a job's latest verify group, or '' when it never was verified. */
export function reproBadges(state: ServerState): (job: string) => string {
  const latest = latestGroups(state);
  return (job) => {
    const g = latest.get(job);
    return g ? groupBadge(g) : '';
  };
}

/** The badge for a run's facts: `build I of N` and its group's badge, or null when the run is no build of a verify group. */
export async function reproBadge(state: ServerState, _runId: string, found: FoundRun): Promise<string | null> {
  const tag = found.kind === 'live' ? found.run.record.group : found.result.group;
  if (!tag) return null;
  const g = await readGroupRecord(state, tag.id);
  return `build ${tag.index} of ${tag.of} ${g ? groupBadge(g) : badge('no group record', 'muted')}`;
}
