import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { BuilderError } from '../../../shared/errors.js';
import { dispatch } from '../../core/dispatch.js';
import { enqueueJob, unqueueJob } from '../../core/queue.js';
import { jobsOf } from '../../core/jobs.js';
import type { ServerState } from '../../core/state.js';
import { platformWarnings } from './platform-warning.js';
import { enqueueGroup, unqueueBuilds } from '../../core/verify.js';

/**
 * `execute`: runs a scheduled job now: moves it to the front of its queue(s)
 * (adding it if absent) and wakes waiting workers. With `verify` (or a job
 * scheduled with it) the run is a verify group of that many builds; builds
 * of an earlier group still queued are replaced (that group ends incomplete).
 */
export async function handleExecute(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'execute' }>): Promise<void> {
  const entry = state.schedule.get(m.name);
  if (!entry) throw new BuilderError('unknown_job', `no job named ${m.name} is scheduled (see: builder-client info)`);
  if (m.platform && state.dropped.has(m.platform))
    throw new BuilderError('platform_dropped', `platform ${m.platform} is dropped: undrop-platform ${m.platform} first`);
  if (!entry.template && m.platform && m.platform !== entry.platform)
    throw new BuilderError('unknown_platform', `job ${m.name} runs on ${entry.platform}, not on ${m.platform}`);
  if (!entry.template && state.dropped.has(entry.platform))
    throw new BuilderError('platform_dropped', `platform ${entry.platform} is dropped: undrop-platform ${entry.platform} first`);
  const jobs = await jobsOf(state, entry, m.platform);
  if (jobs.length === 0)
    throw new BuilderError('no_template', `job ${m.name} has no platform to run on${m.platform ? ` (no template for ${m.platform})` : ''} (see problems in: builder-client info)`);
  const verify = m.verify ?? entry.verify;
  for (const job of jobs) {
    await unqueueBuilds(state, job.platform, job.name, 'replaced by execute');
    await unqueueJob(state, job.platform, job.name);
    if (verify) await enqueueGroup(state, job, verify, { front: true });
    else await enqueueJob(state, job, { front: true });
    void dispatch(state, job.platform);
  }
  const builds = verify ? ` (${verify} builds on different workers)` : '';
  const warnings = await platformWarnings(state, jobs.map((j) => j.platform), true);
  await conn.send({ type: 'success', message: `${m.name} is first in the ${jobs.map((j) => j.platform).join(', ')} queue${jobs.length > 1 ? 's' : ''}${builds}`, ...(warnings.length ? { warnings } : {}) });
}
