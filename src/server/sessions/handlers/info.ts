import type { Connection } from '../../../protocol/connection.js';
import type { InfoReply } from '../../../protocol/messages.js';
import type { ServerState } from '../../core/state.js';
import { uploadInfo } from '../../uploads/upload.js';

/** The queue time a file name of ours encodes (its order key is microseconds). */
function queuedAt(file: string): string {
  const m = /^(\d{16})-/.exec(file);
  return m ? new Date(Math.floor(Number(m[1]) / 1000)).toISOString() : '';
}

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
        period: e.period,
        ...(e.cron ? { cron: e.cron, tz: e.tz } : {}),
        next: e.next,
        ...(e.template ? { template: `${e.template.name} ${e.template.opam_package}` } : {}),
        ...(e.verify ? { verify: e.verify } : {}),
      })),
    queues: [...platforms].sort().map((platform) => {
      const list = state.queues.list(platform);
      const shown = limit > 0 && list.length > limit ? list.slice(0, limit) : list;
      return { platform, paused: state.paused.has(platform), count: list.length, jobs: shown.map((q) => ({ name: q.name, queued: queuedAt(q.file), retries: 0 })) };
    }),
    running: [...state.runs.values()].map((r) => ({
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
      peer: w.conn.peer,
      since: w.since,
      run_id: w.runId,
    })),
    dropped: [...state.dropped].sort(),
    paused: [...state.paused].sort(),
    problems: [...state.problems.values()],
  };
  const upload = await uploadInfo(state);
  if (upload) info.upload = upload;
  await conn.send({ type: 'info_reply', info });
}
