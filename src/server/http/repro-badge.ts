import type { GroupRecord } from '../../spool/groups.js';
import type { ServerState } from '../core/state.js';
import { latestGroups } from '../core/verify.js';
import { badge, esc, pathUrl } from './html.js';

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
