import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage, ScheduleSpec } from '../../../protocol/messages.js';
import { DEFAULT_TIMEOUT_S } from '../../../protocol/types.js';
import { checkCron, firstRun } from '../../../schedule/next-run.js';
import { BuilderError, reason } from '../../../shared/errors.js';
import { log } from '../../../shared/log.js';
import type { ScheduleEntry, TemplateRef } from '../../../spool/records.js';
import { enqueueJob, unqueueJob } from '../../core/queue.js';
import { isReserved } from '../../core/schedule-reservations.js';
import { tick } from '../../core/scheduler.js';
import { platformWarnings } from './platform-warning.js';
import type { ServerState } from '../../core/state.js';

/** Builds a checked schedule entry from what a client asked for. */
export function entryOf(state: ServerState, spec: ScheduleSpec, template?: TemplateRef): ScheduleEntry {
  if (spec.cron) checkCron(spec.cron, spec.tz);
  if (state.dropped.has(spec.platform))
    throw new BuilderError('platform_dropped', `platform ${spec.platform} is dropped: undrop-platform ${spec.platform} first`);
  const next = firstRun(spec, new Date());
  return {
    version: 1,
    name: spec.name,
    platform: spec.platform,
    script: spec.script,
    ...(template ? { template } : {}),
    period: spec.period,
    ...(spec.cron ? { cron: spec.cron, tz: spec.tz ?? 'UTC' } : {}),
    timeout_s: spec.timeout_s ?? DEFAULT_TIMEOUT_S,
    next: next ? next.toISOString() : null,
    ...(spec.allow_overlap ? { allow_overlap: true } : {}),
    ...(spec.verify ? { verify: spec.verify } : {}),
  };
}

/** What addEntries did: how many entries were new, changed, or already exactly so. */
export interface AddCounts {
  added: number;
  updated: number;
  unchanged: number;
}

/** An entry's settings, without its bookkeeping (next due time, format version), for comparing. */
function settings(e: ScheduleEntry): string {
  const { next: _next, version: _version, ...rest } = e;
  return JSON.stringify(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b)));
}

/** Whether two entries are due on the same terms (a changed period or cron starts a new count). */
function sameTiming(a: ScheduleEntry, b: ScheduleEntry): boolean {
  return a.period === b.period && a.cron === b.cron && a.tz === b.tz;
}

/** Counts as words: "scheduled 2 jobs, updated 1, 3 unchanged". */
export function describeCounts(c: AddCounts): string {
  const parts = [`scheduled ${c.added} job${c.added === 1 ? '' : 's'}`];
  if (c.updated) parts.push(`updated ${c.updated}`);
  if (c.unchanged) parts.push(`${c.unchanged} unchanged`);
  return parts.join(', ');
}

/**
 * Adds entries to the schedule, all or nothing: every name is checked first
 * (unique in the batch; not yet scheduled, unless `replace`); if a write
 * fails, the ones already written are removed (or put back) again and the
 * failure is reported. With `replace` (re-applying a set kept in git) an
 * entry already scheduled with the same settings is left as it is, one with
 * other settings is rewritten (keeping its next due time unless its timing
 * changed), and a waiting queued copy is requeued with the new script.
 * Then due jobs are queued.
 */
export async function addEntries(state: ServerState, entries: ScheduleEntry[], opts: { replace?: boolean } = {}): Promise<AddCounts> {
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) throw new BuilderError('duplicate', `job ${e.name} appears twice in the batch; nothing was scheduled`);
    seen.add(e.name);
  }
  const counts: AddCounts = { added: 0, updated: 0, unchanged: 0 };
  const changed: { old: ScheduleEntry; now: ScheduleEntry }[] = [];
  const added: ScheduleEntry[] = [];
  await state.exclusive(async () => {
    const todo: ScheduleEntry[] = [];
    for (const e of entries) {
      const old = state.schedule.get(e.name);
      // A name a batch (schedule --from) is committing right now counts as scheduled.
      if (!old && isReserved(state, e.name))
        throw new BuilderError('duplicate', `job ${e.name} is being scheduled by a batch right now${entries.length > 1 ? '; nothing was scheduled' : ''}`);
      if (old && !opts.replace)
        throw new BuilderError('duplicate', `job ${e.name} is already scheduled (unschedule ${e.name} first, reschedule it, or schedule --replace)${entries.length > 1 ? '; nothing was scheduled' : ''}`);
      if (!old) {
        counts.added++;
        added.push(e);
        todo.push(e);
      } else if (settings(old) === settings(e)) counts.unchanged++;
      else {
        counts.updated++;
        const now = sameTiming(old, e) ? { ...e, next: old.next } : e;
        changed.push({ old, now });
        todo.push(now);
      }
    }
    const written: ScheduleEntry[] = [];
    try {
      for (const e of todo) {
        await state.spool.putSchedule(e);
        written.push(e);
      }
    } catch (err) {
      for (const e of written) {
        const old = state.schedule.get(e.name);
        await (old ? state.spool.putSchedule(old) : state.spool.removeSchedule(e.name)).catch(() => undefined);
      }
      throw new BuilderError('spool_write', `cannot write the schedule in ${state.spool.path('schedule')}: ${reason(err)}; nothing was scheduled`);
    }
    for (const e of todo) state.schedule.set(e.name, e);
  });
  for (const { old, now } of changed) {
    log('info', `updated ${now.name} on ${now.platform === '*' ? 'every platform with its template' : now.platform} (${now.cron ? `cron ${now.cron} ${now.tz}` : now.period})`);
    // A waiting copy of the old version would run the old script: requeue it as the new one.
    let wasQueued = false;
    for (const platform of state.queues.platforms()) if (await unqueueJob(state, platform, old.name)) wasQueued = true;
    if (wasQueued && !now.template) await enqueueJob(state, { name: now.name, platform: now.platform, script: now.script, timeout_s: now.timeout_s }, { front: false });
  }
  for (const e of added) log('info', `scheduled ${e.name} on ${e.platform === '*' ? 'every platform with its template' : e.platform} (${e.cron ? `cron ${e.cron} ${e.tz}` : e.period})`);
  await tick(
    state,
    new Date(),
    entries.map((e) => e.name),
  );
  return counts;
}

/** `schedule`: adds a job to the schedule (with `replace`, or updates it); a job with a period (or a due cron time) is queued at once. */
export async function handleSchedule(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'schedule' }>): Promise<void> {
  const entry = entryOf(state, m.job);
  const counts = await addEntries(state, [entry], { replace: m.replace === true });
  const stored = state.schedule.get(entry.name) ?? entry;
  const what = counts.updated ? 'updated' : counts.unchanged ? 'unchanged:' : 'scheduled';
  const verify = entry.verify ? `, each run built ${entry.verify} times on different workers` : '';
  const warnings = await platformWarnings(state, [entry.platform]);
  await conn.send({ type: 'success', message: `${what} ${entry.name} on ${entry.platform}${stored.next ? `, next run ${stored.next}` : ' (runs on execute only)'}${verify}`, ...(warnings.length ? { warnings } : {}) });
}
