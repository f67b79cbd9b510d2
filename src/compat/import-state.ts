import { DEFAULT_TIMEOUT_S, NAME_RE, NAME_RULE } from '../protocol/types.js';
import { expandTemplate } from '../schedule/template.js';
import type { PlatformRecord, QueueItem, ScheduleEntry } from '../spool/records.js';
import { ALL_PLATFORMS } from '../spool/records.js';
import type { OrigJob, StateItem } from './cmd.js';

// Turns the original server's state items into our spool records, pure: the
// caller reads the file and the templates, and writes the records.

/** What an import writes (in this order), and what it leaves out with the reason. */
export interface ImportPlan {
  schedule: ScheduleEntry[];
  /** Per platform, in the original queue's order. */
  queued: QueueItem[];
  platforms: PlatformRecord[];
  skipped: { item: string; reason: string }[];
}

/** What is already in the spool (with --merge): those are kept and not imported again. */
export interface Existing {
  schedule: Set<string>;
  /** `platform/name` of every queued job. */
  queued: Set<string>;
  platforms: Map<string, PlatformRecord>;
}

/** The inputs besides the items: the time to stamp queued jobs with, and the orb-build template of a platform (null: none). */
export interface PlanContext {
  now: Date;
  template(platform: string): string | null;
  existing: Existing;
}

function jobName(j: OrigJob): string {
  return j.kind === 'script' ? j.job.name : j.name;
}

function badName(what: string, v: string): string | null {
  return NAME_RE.test(v) ? null : `${what} name ${JSON.stringify(v.slice(0, 120))} is not one we can store (${NAME_RULE})`;
}

/**
 * Maps each item: a schedule item becomes schedule/<name>.json (an orb
 * build a template entry for every platform with its template; period never
 * has no next time, as in the original), a queue becomes its jobs in order
 * in queue/<platform>/ (an orb build's script made from that platform's
 * template now, as the original made it at dispatch), a dropped platform
 * becomes platforms/<platform>.json. Names we cannot store, duplicates, jobs
 * already in the spool and old forms the original ignores are skipped with
 * the reason.
 */
export function planImport(items: StateItem[], ctx: PlanContext): ImportPlan {
  const plan: ImportPlan = { schedule: [], queued: [], platforms: [], skipped: [] };
  const skip = (item: string, reason: string) => plan.skipped.push({ item, reason });
  const scheduled = new Set<string>();
  const queued = new Set<string>();
  for (const it of items) {
    switch (it.kind) {
      case 'ignored':
        skip(it.what, 'an old form the original server ignores too');
        break;
      case 'schedule': {
        const { job, period, next } = it.item;
        const name = jobName(job);
        const what = `schedule entry ${name}`;
        const bad = badName('job', name) ?? (job.kind === 'script' ? badName('platform', job.job.platform) : null);
        if (bad) skip(what, bad);
        else if (scheduled.has(name)) skip(what, 'a second entry of that name in the state file');
        else if (ctx.existing.schedule.has(name)) skip(what, 'already scheduled in the spool (kept as it is)');
        else {
          scheduled.add(name);
          const base = { version: 1 as const, name, period, timeout_s: DEFAULT_TIMEOUT_S, next: period === 'never' ? null : next.toISOString() };
          plan.schedule.push(
            job.kind === 'script'
              ? { ...base, platform: job.job.platform, script: job.job.script }
              : { ...base, platform: ALL_PLATFORMS, script: '', template: { name: 'orb-build', opam_package: job.opam_package } },
          );
        }
        break;
      }
      case 'queue':
        for (const job of it.jobs) queueJob(plan, ctx, queued, it.platform, job);
        break;
      case 'dropped_platform': {
        const bad = badName('platform', it.platform);
        if (bad) skip(`dropped platform ${it.platform}`, bad);
        else if (!plan.platforms.some((p) => p.platform === it.platform)) {
          const old = ctx.existing.platforms.get(it.platform);
          plan.platforms.push({ version: 1, platform: it.platform, dropped: true, paused: old?.paused ?? false });
        }
        break;
      }
    }
  }
  return plan;
}

function queueJob(plan: ImportPlan, ctx: PlanContext, queued: Set<string>, platform: string, job: OrigJob): void {
  const name = jobName(job);
  const what = `queued job ${name} on ${platform}`;
  const skip = (reason: string): void => void plan.skipped.push({ item: what, reason });
  const bad = badName('platform', platform) ?? badName('job', name);
  if (bad) return skip(bad);
  const key = `${platform}/${name}`;
  if (queued.has(key)) return skip('queued twice in the state file (a job is never queued twice)');
  if (ctx.existing.queued.has(key)) return skip('already queued in the spool');
  let script: string;
  if (job.kind === 'script') {
    // The original refuses at dispatch a job whose platform is not its queue's.
    if (job.job.platform !== platform) return skip(`its platform is ${job.job.platform}, not its queue's (the original would refuse to run it)`);
    script = job.job.script;
  } else {
    const template = ctx.template(platform);
    if (template === null) return skip(`no orb-build.template.${platform} in the config dir to build its script from (its schedule entry queues it again when due)`);
    script = expandTemplate(template, { OPAM_PACKAGE: job.opam_package, PLATFORM: platform });
  }
  queued.add(key);
  plan.queued.push({ version: 1, job: { name, platform, script, timeout_s: DEFAULT_TIMEOUT_S }, queued: ctx.now.toISOString(), retries: 0 });
}
