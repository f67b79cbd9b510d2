import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { BuilderError } from '../../../shared/errors.js';
import { log } from '../../../shared/log.js';
import { checkCron, firstRun } from '../../../schedule/next-run.js';
import type { ScheduleEntry } from '../../../spool/records.js';
import { tick } from '../../core/scheduler.js';
import type { ServerState } from '../../core/state.js';

/**
 * `reschedule`: sets when a job is next due, and optionally its period or
 * its cron expression (one replaces the other). With a cron expression and
 * no time, the next due time is its next match.
 */
export async function handleReschedule(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'reschedule' }>): Promise<void> {
  if (m.cron && m.period) throw new BuilderError('usage', '--period and --cron exclude each other');
  const tz = m.tz ?? 'UTC';
  if (m.cron) checkCron(m.cron, tz);
  const next = m.next ?? (m.cron ? firstRun({ period: 'never', cron: m.cron, tz }, new Date())?.toISOString() ?? null : null);
  if (next === null && !m.cron) throw new BuilderError('usage', 'reschedule needs NEXT (an RFC 3339 time)');
  let updated: ScheduleEntry | undefined;
  await state.exclusive(async () => {
    const entry = state.schedule.get(m.name);
    if (!entry) throw new BuilderError('unknown_job', `no job named ${m.name} is scheduled (see: builder-client info)`);
    updated = { ...entry, next };
    if (m.period) {
      updated.period = m.period;
      delete updated.cron;
      delete updated.tz;
    }
    if (m.cron) Object.assign(updated, { period: 'never', cron: m.cron, tz });
    await state.spool.putSchedule(updated);
    state.schedule.set(m.name, updated);
  });
  const how = m.cron ? ` (then cron "${m.cron}" ${tz})` : m.period ? ` (then ${m.period})` : '';
  log('info', `rescheduled ${m.name}: next run ${next ?? 'none'}${how}`);
  await tick(state);
  await conn.send({ type: 'success', message: `${m.name} next runs at ${next ?? '(no match of its cron expression)'}${how}` });
}
