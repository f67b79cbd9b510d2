import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { BuilderError } from '../../../shared/errors.js';
import { log } from '../../../shared/log.js';
import { refuseDropped } from '../../core/dispatch.js';
import { unqueueJob } from '../../core/queue.js';
import { knownPlatforms, setPlatform } from '../../core/platforms.js';
import type { ServerState } from '../../core/state.js';

/**
 * `drop_platform`: refuses new jobs for a platform, removes its queue and
 * its schedule entries, and tells its waiting workers, which exit. Runs in
 * progress finish. Template jobs stay scheduled for their other platforms.
 * Dropping a dropped platform is a success with a note.
 */
export async function handleDropPlatform(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'drop_platform' }>): Promise<void> {
  const p = m.platform;
  // Idempotent: a second drop finds nothing to remove.
  if (state.dropped.has(p)) return conn.send({ type: 'success', message: `${p} is already dropped: nothing to do (undrop-platform ${p} accepts it again)` });
  if (!knownPlatforms(state).has(p)) throw new BuilderError('unknown_platform', `no platform named ${p} is known (see: builder-client info)`);
  await setPlatform(state, p, { dropped: true });
  let unqueued = 0;
  for (const q of [...state.queues.list(p)]) if (await unqueueJob(state, p, q.name)) unqueued++;
  const entries = [...state.schedule.values()].filter((e) => e.platform === p);
  await state.exclusive(async () => {
    for (const e of entries) {
      await state.spool.removeSchedule(e.name);
      state.schedule.delete(e.name);
    }
  });
  let told = 0;
  for (const w of state.workers.values()) {
    if (w.facts.platform !== p || w.runId !== null) continue;
    told++;
    refuseDropped(w);
  }
  const n = (k: number, one: string, many = `${one}s`) => `${k} ${k === 1 ? one : many}`;
  log('warn', `dropped platform ${p}: ${n(unqueued, 'queued job')} and ${n(entries.length, 'schedule entry', 'schedule entries')} removed, ${n(told, 'waiting worker')} told`);
  await conn.send({ type: 'success', message: `dropped ${p}: removed ${n(unqueued, 'queued job')} and ${n(entries.length, 'schedule entry', 'schedule entries')}; ${n(told, 'waiting worker')} told to exit` });
}
