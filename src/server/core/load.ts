import { promises as fs } from 'node:fs';
import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { enqueueJob, queuePlatforms, rescanQueue } from './queue.js';
import { adoptRun } from './reattach.js';
import { resultOf } from './runs.js';
import type { ServerState } from './state.js';

/**
 * Loads the spool into memory at start-up and recovers what a crash left in
 * running/: a run whose result.json was written is moved to results/; a run
 * whose worker may still be on it waits for it (reattach.ts); any other run
 * (or one its worker does not resume in time) is requeued at the front of its queue (it was not the job's
 * fault, so its retries are not counted) and kept as an interrupted result.
 */
export async function loadState(state: ServerState): Promise<void> {
  const { spool } = state;
  for (const p of await spool.listPlatforms()) {
    if (p.dropped) state.dropped.add(p.platform);
    if (p.paused) state.paused.add(p.platform);
  }
  for (const e of await spool.listSchedule()) state.schedule.set(e.name, e);
  for (const platform of await queuePlatforms(state)) await rescanQueue(state, platform);
  for (const { name, runId } of await spool.resultIds()) state.results.set(runId, name);
  for (const runId of await spool.runningIds()) {
    try {
      await recoverRun(state, runId);
    } catch (e) {
      log('error', `cannot recover running/${runId}: ${reason(e)}; left in place`, runId);
    }
  }
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
  const dropped = job !== null && state.dropped.has(job.job.platform);
  if (job && run && !dropped && (await adoptRun(state, run))) return;
  if (job && dropped) {
    // A dropped platform takes no jobs: the run is kept as an interrupted result, not requeued.
    await spool.dropRunJob(runId);
    log('warn', `${job.job.name} was running when the server stopped; platform ${job.job.platform} is dropped: not requeued`, runId);
  } else if (job) {
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
  const why = dropped ? `not requeued: platform ${run.job.platform} is dropped` : 'requeued';
  const interrupted = resultOf(run, { kind: 'failed', message: `interrupted: the server stopped while this run was in progress (${why})` }, [], lines);

  // Its outbox record, if the crash came between writing it and storing the result, would upload an attempt that was requeued.
  await spool.forgetUpload(runId);
  // What it sent may be partial: an interrupted attempt keeps no artifacts, so none is served.
  await spool.dropArtifacts(runId);
  await spool.finishRun(interrupted);
  state.results.set(runId, run.job.name);
}
