import type { ScheduleEntry } from '../spool/records.js';
import type { ServerState } from '../server/core/state.js';
import type { OrigInfo, OrigJob } from './cmd.js';

/** The `next` the original shows for a job that never falls due (it uses the largest time it has). */
export const NEVER = new Date('9999-12-31T23:59:59Z');

/** A schedule entry as the original's job: a template entry is its orb build, any other its script job. */
function jobOf(e: ScheduleEntry | undefined, name: string, platform: string): OrigJob {
  if (e?.template) return { kind: 'orb_build', name, opam_package: e.template.opam_package };
  return { kind: 'script', job: { name, platform, script: e?.script ?? '' } };
}

/**
 * What an original client's `info` gets: the schedule (a cron job shows as
 * period never with its next time: the original has no cron), every queue in
 * order (a queued job shows its schedule entry's script, which is what the
 * queue file holds unless it was edited by hand), running jobs and dropped
 * platforms. Workers, paused platforms and problems have no place in it.
 */
export function compatInfo(state: ServerState): OrigInfo {
  const schedule = [...state.schedule.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((e) => ({ next: e.next ? new Date(e.next) : NEVER, period: e.cron ? ('never' as const) : e.period, job: jobOf(e, e.name, e.platform) }));
  const queues = state.queues
    .platforms()
    .sort()
    .map((platform) => ({ platform, jobs: state.queues.list(platform).map((q) => jobOf(state.schedule.get(q.name), q.name, platform)) }));
  const running = [...state.runs.values()].map((r) => ({
    started: new Date(r.record.started),
    uuid: r.record.run_id,
    job: { name: r.record.job.name, platform: r.record.job.platform, script: r.record.job.script },
  }));
  return { schedule, queues, running, dropped: [...state.dropped].sort() };
}
