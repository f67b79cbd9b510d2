import type { Connection } from '../../protocol/connection.js';
import type { ClientMessage } from '../../protocol/messages.js';
import { BuilderError } from '../../shared/errors.js';
import { dispatch, enqueueJob, unqueueJob } from '../dispatch.js';
import { jobOf } from '../scheduler.js';
import type { ServerState } from '../state.js';

/** `execute`: runs a scheduled job now: moves it to the front of its queue (adding it if absent) and wakes waiting workers. */
export async function handleExecute(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'execute' }>): Promise<void> {
  const entry = state.schedule.get(m.name);
  if (!entry) throw new BuilderError('unknown_job', `no job named ${m.name} is scheduled (see: builder-client info)`);
  if (m.platform && m.platform !== entry.platform)
    throw new BuilderError('unknown_platform', `job ${m.name} runs on ${entry.platform}, not on ${m.platform}`);
  if (state.dropped.has(entry.platform))
    throw new BuilderError('platform_dropped', `platform ${entry.platform} is dropped: undrop-platform ${entry.platform} first`);
  await unqueueJob(state, entry.platform, entry.name);
  await enqueueJob(state, jobOf(entry), { front: true });
  void dispatch(state, entry.platform);
  await conn.send({ type: 'success', message: `${m.name} is first in the ${entry.platform} queue` });
}
