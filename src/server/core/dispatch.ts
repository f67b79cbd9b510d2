import { randomUUID } from 'node:crypto';
import type { Job } from '../../protocol/types.js';
import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import type { GroupTag, QueueItem } from '../../spool/records.js';
import { nameFromQueueFile, type Queued } from './queues.js';
import { startRun } from './runs.js';
import type { ServerState, WorkerPeer } from './state.js';
import { pickPair } from './verify-pairing.js';

/**
 * Puts a job on its platform's queue unless it already waits there (a job is
 * never queued twice). `front` is for run-now and for requeued runs. One
 * build of a verify group (`group`) is never queued twice either, beside
 * the group's other builds. Returns false when it was already queued.
 */
export function enqueueJob(state: ServerState, job: Job, opts: { front: boolean; retries?: number; group?: GroupTag }): Promise<boolean> {
  return state.exclusive(async () => {
    const g = opts.group;
    if (g ? state.queues.hasMember(job.platform, g.id, g.index) : state.queues.has(job.platform, job.name) || state.claiming.has(`${job.platform}/${job.name}`)) return false;
    const item: QueueItem = { version: 1, job, queued: new Date().toISOString(), retries: opts.retries ?? 0, ...(g ? { group: g } : {}) };
    const head = state.queues.list(job.platform)[0]?.file;
    const file = await state.spool.enqueue(item, opts.front ? { front: true, head } : { front: false });
    state.queues.add(job.platform, { file, name: job.name });
    log('info', `queued ${job.name}${g ? ` (verify build ${g.index} of ${g.of})` : ''} on ${job.platform}${opts.front ? ' (front)' : ''}`);
    return true;
  });
}

/** Removes a job from a platform's queue; false when it was not queued. */
export function unqueueJob(state: ServerState, platform: string, name: string): Promise<boolean> {
  return state.exclusive(async () => {
    const q = state.queues.list(platform).find((e) => e.name === name);
    if (!q) return false;
    state.queues.remove(platform, q.file);
    await state.spool.removeQueued(platform, q.file);
    return true;
  });
}

/** Marks a worker as waiting for a job and tries to give it one. */
export function workerWaits(state: ServerState, w: WorkerPeer): void {
  w.waiting = true;
  void dispatch(state, w.facts.platform);
}

/**
 * Hands queue heads of `platform` to its waiting workers, each run to exactly
 * one worker: the claim is a rename in the spool, so a job removed by hand
 * meanwhile is skipped. Pairing a head with a worker happens under the lock;
 * the claim itself (several fsyncs) runs outside it, so the claims of
 * different workers overlap instead of queueing behind each other.
 */
export function dispatch(state: ServerState, platform: string): Promise<void> {
  return state.exclusive(async () => {
    if (state.paused.has(platform) || state.dropped.has(platform) || state.stopping) return;
    for (;;) {
      // Usually the head and the first waiting worker; a verify build waits for a worker other than its group's (verify-pairing.ts).
      const pair = pickPair(state, platform);
      if (!pair) return;
      const { worker, head } = pair;
      state.queues.remove(platform, head.file);
      worker.waiting = false;
      // Until the claim is done the job is neither queued nor running: `claiming` keeps it from being queued twice.
      const key = `${platform}/${head.name}${head.group ? `@${head.group.id}.${head.group.index}` : ''}`;
      state.claiming.add(key);
      void claimFor(state, platform, head, worker)
        .catch((e) => {
          log('error', `cannot start ${head.name} on ${platform}: ${reason(e)}; the next start requeues it`);
          worker.conn.destroy();
        })
        .finally(() => state.claiming.delete(key));
    }
  });
}

/** Claims one paired queue head for its worker and starts the run; a head gone meanwhile frees the worker again. */
async function claimFor(state: ServerState, platform: string, head: Queued, worker: WorkerPeer): Promise<void> {
  const runId = randomUUID();
  let record;
  try {
    record = await state.spool.claim(platform, head.file, (item) => ({
      version: 1,
      run_id: runId,
      job: item.job,
      retries: item.retries,
      queued: item.queued,
      started: new Date().toISOString(),
      worker: { id: worker.id, peer: worker.conn.peer, facts: worker.facts },
      ...(item.group ? { group: item.group } : {}),
    }));
  } catch (e) {
    log('error', `cannot claim queue/${platform}/${head.file}: ${reason(e)}; it stays queued`, runId);
    state.queues.add(platform, head);
    if (!worker.conn.isClosed) worker.waiting = true;
    return;
  }
  if (!record) {
    if (!worker.conn.isClosed) worker.waiting = true;
    return dispatch(state, platform);
  }
  if (worker.conn.isClosed) log('warn', `worker ${worker.id} left while ${record.job.name} was being claimed`, runId);
  await startRun(state, record, worker);
}

/** Resolves the job name of a queue file we did not write ourselves (a hand edit). */
export async function nameOfQueueFile(state: ServerState, platform: string, file: string): Promise<string | null> {
  const fromName = nameFromQueueFile(file);
  if (fromName) return fromName;
  const item = await state.spool.readQueued(platform, file);
  return item ? item.job.name : null;
}
