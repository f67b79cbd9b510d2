import { promises as fs } from 'node:fs';
import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { enqueueJob, nameOfQueueFile } from './dispatch.js';
import { resultOf } from './runs.js';
import type { ServerState } from './state.js';

/**
 * Loads the spool into memory at start-up and recovers what a crash left in
 * running/: a run whose result.json was written is moved to results/; any
 * other run is requeued at the front of its queue (it was not the job's
 * fault, so its retries are not counted) and kept as an interrupted result.
 */
export async function loadState(state: ServerState): Promise<void> {
  const { spool } = state;
  for (const p of await spool.listPlatforms()) {
    if (p.dropped) state.dropped.add(p.platform);
    if (p.paused) state.paused.add(p.platform);
  }
  for (const e of await spool.listSchedule()) state.schedule.set(e.name, e);
  for (const platform of await spool.queuePlatforms()) await rescanQueue(state, platform);
  for (const { name, runId } of await spool.resultIds()) state.results.set(runId, name);
  for (const runId of await spool.runningIds()) {
    try {
      await recoverRun(state, runId);
    } catch (e) {
      log('error', `cannot recover running/${runId}: ${reason(e)}; left in place`, runId);
    }
  }
}

/** Makes the in-memory queue of a platform match its directory (after a hand edit or at start). */
export function rescanQueue(state: ServerState, platform: string): Promise<void> {
  return state.exclusive(async () => {
    const files = await state.spool.queueFiles(platform);
    const { added } = state.queues.reconcile(platform, files);
    for (const file of added) {
      const name = await nameOfQueueFile(state, platform, file);
      if (name) state.queues.add(platform, { file, name });
    }
  });
}

/** Makes the in-memory queue of a platform match the named files of its directory (fs.watch named them). */
export function recheckQueued(state: ServerState, platform: string, files: string[]): Promise<void> {
  return state.exclusive(async () => {
    for (const file of files) {
      if (!file.endsWith('.json') || file.startsWith('.')) continue;
      const there = await fs.access(state.spool.path('queue', platform, file)).then(
        () => true,
        () => false,
      );
      if (!there) state.queues.remove(platform, file);
      else if (!state.queues.hasFile(platform, file)) {
        const name = await nameOfQueueFile(state, platform, file);
        if (name) state.queues.add(platform, { file, name });
      }
    }
  });
}

async function recoverRun(state: ServerState, runId: string): Promise<void> {
  const { spool } = state;
  const { job, run, result } = await spool.readRunning(runId);
  if (result) {
    await spool.completeFinish(result);
    state.results.set(runId, result.job.name);
    log('info', `finished storing ${result.job.name} after a restart`, runId);
    return;
  }
  if (job) {
    await enqueueJob(state, job.job, { front: true, retries: job.retries, ...(job.group ? { group: job.group } : {}) });
    await spool.dropRunJob(runId);
    log('warn', `${job.job.name} was running when the server stopped: requeued on ${job.job.platform}`, runId);
  }
  if (!run) {
    await spool.removeRunning(runId);
    return;
  }
  const consoleText = await fs.readFile(spool.consolePath(runId), 'utf8').catch(() => '');
  const lines = consoleText.split('\n').filter((l) => l !== '').length;
  const interrupted = resultOf(run, { kind: 'failed', message: 'interrupted: the server stopped while this run was in progress (requeued)' }, [], lines);

  // Its outbox record, if the crash came between writing it and storing the result, would upload an attempt that was requeued.
  await spool.forgetUpload(runId);
  await spool.finishRun(interrupted);
  state.results.set(runId, run.job.name);
}
