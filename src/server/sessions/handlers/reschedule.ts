import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { BuilderError } from '../../../shared/errors.js';
import { log } from '../../../shared/log.js';
import { tick } from '../../core/scheduler.js';
import type { ServerState } from '../../core/state.js';

/** `reschedule`: sets when a job is next due (and optionally its period). */
export async function handleReschedule(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'reschedule' }>): Promise<void> {
  await state.exclusive(async () => {
    const entry = state.schedule.get(m.name);
    if (!entry) throw new BuilderError('unknown_job', `no job named ${m.name} is scheduled (see: builder-client info)`);
    const updated = { ...entry, next: m.next, ...(m.period ? { period: m.period } : {}) };
    if (m.period) delete updated.cron;
    await state.spool.putSchedule(updated);
    state.schedule.set(m.name, updated);
  });
  log('info', `rescheduled ${m.name}: next run ${m.next}${m.period ? `, ${m.period}` : ''}`);
  await tick(state);
  await conn.send({ type: 'success', message: `${m.name} next runs at ${m.next}${m.period ? ` (then ${m.period})` : ''}` });
}
