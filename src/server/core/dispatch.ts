import { randomBytes } from 'node:crypto';
import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { claimHead, takeHead } from './queue.js';
import type { Queued } from './queue-mirror.js';
import { awaitWorker } from './reattach.js';
import { abandonClaim, loseRun, registerClaim, returnUnstarted, startRun } from './runs.js';
import type { Run } from './run-phase.js';
import type { ServerState, WorkerPeer } from './state.js';
import { refuseDropped } from './worker-peer.js';
import { pickPair } from './verify-pairing.js';

/** Registers a connected worker (its session checked its hello); false when its platform is dropped and it was refused. */
export function connectWorker(state: ServerState, w: WorkerPeer): boolean {
  if (state.dropped.has(w.facts.platform)) {
    const p = w.facts.platform;
    w.link.refuse(`platform ${p} is dropped on this server (undrop-platform ${p} to accept it again)`, 'platform_dropped');
    return false;
  }
  state.workers.set(w.id, w);
  state.events.emit('worker_connected', { worker: w });
  return true;
}

/**
 * Forgets a worker whose connection ended; its current run is lost (and
 * requeued within the retries) or waits for it to resume; a run sent ahead,
 * which the worker never began, goes back to its queue as it was.
 */
export async function disconnectWorker(state: ServerState, w: WorkerPeer, why: string): Promise<void> {
  state.workers.delete(w.id);
  w.waiting = false;
  const ahead = w.ahead ? state.runs.get(w.ahead) : undefined;
  const run = w.runId ? state.runs.get(w.runId) : undefined;
  if (run && !awaitWorker(state, run, `worker lost: ${why}`)) await loseRun(state, run, `worker lost: ${why}`);
  if (ahead) await returnUnstarted(state, ahead, `worker lost before it began the run: ${why}`);
  state.events.emit('worker_lost', { worker: w, why });
}

export { refuseDropped };

/**
 * Marks a worker as waiting for a job and tries to give it one; a worker of
 * a dropped platform is told and closed. A worker that pipelines may ask
 * while its current run is being reported: it gets one job ahead, no more.
 */
export function workerWaits(state: ServerState, w: WorkerPeer): void {
  if (w.ahead) return;
  if (w.runId !== null && !w.link.pipelines) return;
  // A busy worker is told of the drop once its run ended (runs.ts releaseWorker), not while it reports.
  if (state.dropped.has(w.facts.platform)) return w.runId === null ? refuseDropped(w) : void (w.waiting = true);
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
      if (!pair) return takeBackFor(state, platform);
      const { worker } = pair;
      const head = takeHead(state, platform, pair.head)!;
      worker.waiting = false;
      void claimFor(state, platform, head, worker).catch((e) => {
        log('error', `cannot start ${head.name} on ${platform}: ${reason(e)}`);
        worker.link.drop();
      });
    }
  });
}

/**
 * A worker idle with nothing queued while another holds a job sent ahead
 * behind its current run (it asked ahead when that run's process exited,
 * and reporting it may take long: a big artifact): that job is taken back
 * and requeued, so the idle worker gets it. Safe because a worker that takes job_received begins a job held ahead
 * only on the job_received of its current run, which the server sends after
 * take_back (and after reading that run's job_finished, which clears `ahead`).
 */
function takeBackFor(state: ServerState, platform: string): void {
  const workers = [...state.workers.values()].filter((w) => w.facts.platform === platform && !w.link.isClosed);
  if (state.queues.list(platform).length > 0 || !workers.some((w) => w.waiting && w.runId === null)) return;
  const holder = workers.find((w) => w.ahead && w.link.sendTakeBack);
  const run = holder?.ahead ? state.runs.get(holder.ahead) : undefined;
  if (!holder || !run || run.phase.kind !== 'running') return;
  holder.ahead = null;
  holder.link.sendTakeBack!(run.record.run_id);
  log('info', `${run.record.job.name} taken back from worker ${holder.id} (held ahead) for an idle worker`, run.record.run_id);
  void returnUnstarted(state, run, 'taken back for an idle worker').then(() => dispatch(state, platform));
}

/** A draining worker hands back its job held ahead, unbegun: requeued as never started. */
export function giveBack(state: ServerState, w: WorkerPeer, runId: string): void {
  const run = state.runs.get(runId);
  if (!run || run.worker !== w || (w.ahead !== runId && w.runId !== runId)) return;
  void returnUnstarted(state, run, 'handed back unbegun by its draining worker').then(() => dispatch(state, run.record.job.platform));
}

/**
 * Claims one paired queue head for its worker and starts the run; a head gone
 * meanwhile frees the worker again. Durability, also for a job sent ahead
 * (pipelining): the job is sent only once spool.claim has resolved, that is
 * after the last fsync of running/<id>, so no report of this run (let alone
 * its result) can reach the server before its claim is durable; a crash
 * before that leaves the job queued or in running/ (requeued at start).
 */
async function claimFor(state: ServerState, platform: string, head: Queued, worker: WorkerPeer): Promise<void> {
  let run = null as Run | null;
  let record;
  try {
    record = await claimHead(state, platform, head, (item, runId) => {
      const r = {
        version: 1 as const,
        run_id: runId,
        job: item.job,
        retries: item.retries,
        queued: item.queued,
        started: new Date().toISOString(),
        worker: { id: worker.id, peer: worker.peer, facts: worker.facts },
        // Only a worker that can resume gets a credential; its runs are held for it across a restart.
        ...(worker.link.sendResume ? { attempt: randomBytes(16).toString('hex') } : {}),
        ...(item.group ? { group: item.group } : {}),
      };
      run = registerClaim(state, r, worker);
      return r;
    });
  } catch (e) {
    if (run) abandonClaim(state, run);
    log('error', `cannot claim queue/${platform}/${head.file}: ${reason(e)}; it stays queued`);
    if (!worker.link.isClosed) worker.waiting = true;
    return;
  }
  if (!record || !run) {
    if (run) abandonClaim(state, run);
    if (!worker.link.isClosed) worker.waiting = true;
    return dispatch(state, platform);
  }
  if (worker.link.isClosed) {
    log('warn', `worker ${worker.id} left while ${head.name} was being claimed: it goes back to its queue`, record.run_id);
    return returnUnstarted(state, run, 'the worker left while the job was being claimed');
  }
  await startRun(state, run);
}
