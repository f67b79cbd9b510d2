import type { Connection } from '../../../protocol/connection.js';
import type { InfoReply } from '../../../protocol/messages.js';
import { queueDetails } from '../../core/queue.js';
import type { ServerState } from '../../core/state.js';
import { uploadInfo } from '../../uploads/upload.js';

/** Jobs listed per queue when the client gives no limit: a long queue is summarized by its count. */
export const INFO_DEFAULT_LIMIT = 100;

/** `info`: the schedule, queues (the first `limit` jobs of each, 0: all, and its count), running jobs, connected workers and dropped platforms. */
export async function handleInfo(state: ServerState, conn: Connection, limit = INFO_DEFAULT_LIMIT): Promise<void> {
  const platforms = new Set([...state.queues.platforms(), ...state.paused]);
  const info: InfoReply = {
    schedule: [...state.schedule.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((e) => ({
        name: e.name,
        platform: e.platform,
        // A cron job has no period of its own: showing "never" beside its cron would mislead.
        ...(e.cron ? { cron: e.cron, tz: e.tz } : { period: e.period }),
        next: e.next,
        ...(e.template ? { template: `${e.template.name} ${e.template.opam_package}` } : {}),
        ...(e.verify ? { verify: e.verify } : {}),
      })),
    queues: [],
    // A run whose claim is in progress is listed once its job is on the way to the worker.
    running: [...state.runs.values()].filter((r) => r.phase.kind !== 'claiming').map((r) => ({
      run_id: r.record.run_id,
      name: r.record.job.name,
      platform: r.record.job.platform,
      started: r.record.started,
      worker: `${r.worker.id} (${r.worker.facts.hostname})`,
    })),
    workers: [...state.workers.values()].map((w) => ({
      id: w.id,
      platform: w.facts.platform,
      hostname: w.facts.hostname,
      peer: w.peer,
      since: w.since,
      run_id: w.runId,
    })),
    dropped: [...state.dropped].sort(),
    paused: [...state.paused].sort(),
    problems: [...state.problems.values()],
  };
  for (const platform of [...platforms].sort()) {
    info.queues.push({ platform, paused: state.paused.has(platform), count: state.queues.list(platform).length, jobs: await queueDetails(state, platform, limit) });
  }
  const upload = await uploadInfo(state);
  if (upload) info.upload = upload;
  await conn.send({ type: 'info_reply', info });
}
