import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage, ScheduleSpec } from '../../../protocol/messages.js';
import { DEFAULT_TIMEOUT_S } from '../../../protocol/types.js';
import { checkCron, firstRun } from '../../../schedule/next-run.js';
import { BuilderError, reason } from '../../../shared/errors.js';
import { log } from '../../../shared/log.js';
import type { ScheduleEntry, TemplateRef } from '../../../spool/records.js';
import { tick } from '../../core/scheduler.js';
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

/**
 * Adds entries to the schedule, all or nothing: every name is checked first
 * (unique, not yet scheduled); if a write fails, the ones already written
 * are removed again and the failure is reported. Then due jobs are queued.
 */
export async function addEntries(state: ServerState, entries: ScheduleEntry[]): Promise<void> {
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) throw new BuilderError('duplicate', `job ${e.name} appears twice in the batch; nothing was scheduled`);
    seen.add(e.name);
  }
  await state.exclusive(async () => {
    for (const e of entries)
      if (state.schedule.has(e.name))
        throw new BuilderError('duplicate', `job ${e.name} is already scheduled (unschedule ${e.name} first, or reschedule it)${entries.length > 1 ? '; nothing was scheduled' : ''}`);
    const written: ScheduleEntry[] = [];
    try {
      for (const e of entries) {
        await state.spool.putSchedule(e);
        written.push(e);
      }
    } catch (err) {
      for (const e of written) await state.spool.removeSchedule(e.name).catch(() => undefined);
      throw new BuilderError('spool_write', `cannot write the schedule in ${state.spool.path('schedule')}: ${reason(err)}; nothing was scheduled`);
    }
    for (const e of entries) state.schedule.set(e.name, e);
  });
  for (const e of entries) log('info', `scheduled ${e.name} on ${e.platform === '*' ? 'every platform with its template' : e.platform} (${e.cron ? `cron ${e.cron} ${e.tz}` : e.period})`);
  await tick(
    state,
    new Date(),
    entries.map((e) => e.name),
  );
}

/** `schedule`: adds a job to the schedule; a job with a period (or a due cron time) is queued at once. */
export async function handleSchedule(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'schedule' }>): Promise<void> {
  const entry = entryOf(state, m.job);
  await addEntries(state, [entry]);
  const verify = entry.verify ? `, each run built ${entry.verify} times on different workers` : '';
  await conn.send({ type: 'success', message: `scheduled ${entry.name} on ${entry.platform}${entry.next ? `, next run ${entry.next}` : ' (runs on execute only)'}${verify}` });
}
