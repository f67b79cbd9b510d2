import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { BuilderError } from '../../../shared/errors.js';
import { log } from '../../../shared/log.js';
import { unqueueJob } from '../../core/queue.js';
import type { ServerState } from '../../core/state.js';
import { unqueueBuilds } from '../../core/verify.js';

/** `unschedule`: removes a job from the schedule and from every queue (a running one finishes). */
export async function handleUnschedule(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'unschedule' }>): Promise<void> {
  const entry = state.schedule.get(m.name);
  if (!entry) throw new BuilderError('unknown_job', `no job named ${m.name} is scheduled (see: builder-client info)`);
  await state.exclusive(async () => {
    await state.spool.removeSchedule(m.name);
    state.schedule.delete(m.name);
  });
  let unqueued = 0;
  for (const platform of state.queues.platforms()) {
    if ((await unqueueBuilds(state, platform, m.name, 'the job was unscheduled')) > 0) unqueued++;
    else if (await unqueueJob(state, platform, m.name)) unqueued++;
  }
  log('info', `unscheduled ${m.name}${unqueued ? ` and removed it from ${unqueued} queue(s)` : ''}`);
  await conn.send({ type: 'success', message: `unscheduled ${m.name}` });
}
