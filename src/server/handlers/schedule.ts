import type { Connection } from '../../protocol/connection.js';
import type { ClientMessage } from '../../protocol/messages.js';
import { DEFAULT_TIMEOUT_S } from '../../protocol/types.js';
import { checkCron, firstRun } from '../../schedule/next-run.js';
import { BuilderError } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import type { ScheduleEntry } from '../../spool/records.js';
import { tick } from '../scheduler.js';
import type { ServerState } from '../state.js';

/** `schedule`: adds a job to the schedule; a job with a period (or a due cron time) is queued at once. */
export async function handleSchedule(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'schedule' }>): Promise<void> {
  const spec = m.job;
  if (spec.cron) checkCron(spec.cron, spec.tz);
  if (state.dropped.has(spec.platform))
    throw new BuilderError('platform_dropped', `platform ${spec.platform} is dropped: undrop-platform ${spec.platform} first`);
  const next = firstRun(spec, new Date());
  const entry: ScheduleEntry = {
    version: 1,
    name: spec.name,
    platform: spec.platform,
    script: spec.script,
    period: spec.period,
    ...(spec.cron ? { cron: spec.cron, tz: spec.tz ?? 'UTC' } : {}),
    timeout_s: spec.timeout_s ?? DEFAULT_TIMEOUT_S,
    next: next ? next.toISOString() : null,
    ...(spec.allow_overlap ? { allow_overlap: true } : {}),
  };
  await state.exclusive(async () => {
    if (state.schedule.has(spec.name))
      throw new BuilderError('duplicate', `job ${spec.name} is already scheduled (unschedule ${spec.name} first, or reschedule it)`);
    await state.spool.putSchedule(entry);
    state.schedule.set(entry.name, entry);
  });
  log('info', `scheduled ${entry.name} on ${entry.platform} (${entry.cron ? `cron ${entry.cron} ${entry.tz}` : entry.period})`);
  await tick(state);
  await conn.send({ type: 'success', message: `scheduled ${entry.name} on ${entry.platform}${entry.next ? `, next run ${entry.next}` : ' (runs on execute only)'}` });
}
