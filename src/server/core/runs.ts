import type { ArtifactInfo, Outcome } from '../../protocol/types.js';
import { describeOutcome } from '../../protocol/types.js';
import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { logLimited } from '../../shared/rate-limited-log.js';
import type { ResultRecord, RunRecord } from '../../spool/records.js';
import { ConsoleLog } from './console-log.js';
import { admitConsoleLine, consoleCapNotice, limitedOutcome, newUsage } from './limits.js';
import { enqueueJob } from './queue.js';
import { askStopWhileClaiming, isActive, rearmDeadline, toLeftForRestart, toRunning, toStopping, toStored, toStoring, type Run } from './run-phase.js';
import type { ServerState, WorkerPeer } from './state.js';
import { refuseDropped } from './worker-peer.js';

// The run lifecycle (phases and their transitions: run-phase.ts). A run is
// registered while its claim is in progress, runs once its job is sent, and
// ends exactly once: with the worker's job_finished, or as lost (connection
// gone, heartbeats stopped, timeout). Messages for any other run id are from
// a stale attempt and are rejected. What happens is told through
// state.events; metrics, uploads, retention and observers subscribe.

/** Longest timer Node keeps (about 24.8 days); a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The result record of an attempt that ends now. */
export function resultOf(record: RunRecord, outcome: Outcome, artifacts: ArtifactInfo[], consoleLines: number): ResultRecord {
  return {
    version: 1,
    run_id: record.run_id,
    job: record.job,
    started: record.started,
    finished: new Date().toISOString(),
    outcome,
    artifacts,
    console_lines: consoleLines,
    retries: record.retries,
    worker: record.worker,
  };
}

/** Registers a run whose claim is in progress (phase claiming): it is listed, and a cancel now is kept for when it runs. */
export function registerClaim(state: ServerState, record: RunRecord, worker: WorkerPeer): Run {
  const run: Run = { record, worker, console: null, artifacts: [], usage: newUsage(), seq: 0, phase: { kind: 'claiming', stopAsked: null } };
  state.runs.set(record.run_id, run);
  return run;
}

/** Forgets a run whose claim did not happen (the job was gone, or the claim failed and the job went back). */
export function abandonClaim(state: ServerState, run: Run): void {
  toStored(run, null);
  state.runs.delete(run.record.run_id);
}

/** Starts a claimed run: opens its console, arms its timeout and sends the job to its worker. */
export async function startRun(state: ServerState, run: Run): Promise<void> {
  const { record, worker } = run;
  const console = new ConsoleLog(state.spool.consolePath(record.run_id));
  try {
    await console.open();
  } catch (e) {
    log('error', `cannot open the console of ${record.job.name}: ${reason(e)}`, record.run_id);
    return void endRun(state, run, { kind: 'failed', message: `cannot open the console ${console.path}: ${reason(e)}` }, true, true);
  }
  if (state.stopping) return leaveForRestart(state, run, console);
  const stopAsked = run.phase.kind === 'claiming' ? run.phase.stopAsked : null;
  toRunning(run, console, runDeadline(state, run));
  console.on('grew', () => state.events.emit('run_output', { runId: record.run_id }));
  // A worker still reporting its run (it pipelines: dispatch.ts workerWaits) holds this one until then.
  const ahead = worker.runId !== null && worker.runId !== record.run_id;
  if (ahead) worker.ahead = record.run_id;
  else worker.runId = record.run_id;
  log('info', `${record.job.name} on ${record.job.platform} ${ahead ? 'sent ahead to' : 'started on'} worker ${worker.id} (${worker.facts.hostname})`, record.run_id);
  state.events.emit('run_started', { run });
  try {
    await worker.link.sendJob(record.run_id, record.job, record.attempt);
  } catch (e) {
    // The worker never got it, so it never began it: back to the queue as it was.
    return returnUnstarted(state, run, `worker lost before it got the job: ${reason(e)}`);
  }
  if (stopAsked) stopRun(state, run, stopAsked.why, stopAsked.requeue);
}

/** Arms the job's timeout, counted from the run's start (a resumed run gets what is left of it), or from `fromMs`. */
export function runDeadline(state: ServerState, run: Run, fromMs = Date.parse(run.record.started)): NodeJS.Timeout {
  const { record } = run;
  const left = fromMs + record.job.timeout_s * 1000 - Date.now();
  const ms = Math.max(0, Math.min(Number.isNaN(left) ? record.job.timeout_s * 1000 : left, MAX_TIMER_MS));
  // why unref: the listener keeps a server alive; a run's timer alone must not (a core driven by a test).
  return setTimeout(() => stopRun(state, run, `timed out after ${record.job.timeout_s} s`, true), ms).unref();
}

/**
 * Asks the worker to stop a run (kill its process group): at its timeout
 * (requeued within the retries) or on `cancel` (not requeued). If the worker
 * does not report within the grace period, the run is recorded as lost. A
 * run still being claimed is stopped as soon as it runs; a run already
 * stopping or ending is left alone.
 */
export function stopRun(state: ServerState, run: Run, why: string, requeue: boolean): void {
  if (run.phase.kind === 'claiming') return askStopWhileClaiming(run, why, requeue);
  // No worker to tell: a cancel ends it now (a worker coming back is told it is gone); a timeout waits for the resume or the grace.
  if (run.phase.kind === 'awaiting_worker' && !requeue) return void endRun(state, run, { kind: 'failed', message: why }, false, true);
  if (run.phase.kind !== 'running') return;
  const grace = setTimeout(() => {
    run.worker.link.drop();
    const late = `${why}; the worker did not stop it within ${state.config.killGraceS} s`;
    if (requeue) void loseRun(state, run, late);
    else void endRun(state, run, { kind: 'failed', message: late }, false, true);
  }, state.config.killGraceS * 1000).unref();
  toStopping(run, why, requeue, grace);
  log('warn', `${run.record.job.name}: ${why}; stopping it on worker ${run.worker.id}`, run.record.run_id);
  run.worker.link.sendCancel(run.record.run_id, why);
}

/** The run a worker may report on, or null (stale attempt, or not its run). */
export function ownRun(state: ServerState, w: WorkerPeer, runId: string): Run | null {
  const run = state.runs.get(runId);
  if (!run || (run.phase.kind !== 'running' && run.phase.kind !== 'stopping') || run.worker !== w) {
    // Rate-limited: a worker may send any number of these (200,000 output lines of a stale run).
    logLimited(`stale/${w.id}`, 'warn', `worker ${w.id} reported on run ${runId}, which is not its current run (stale attempt): rejected`);
    return null;
  }
  return run;
}

/** Stores one output line of a run, up to the console limit (then one notice, and the rest is dropped); a seq already stored (resent after a resume) is skipped. */
export function recordOutput(state: ServerState, run: Run, t: number, line: string, seq?: number): void {
  if (seq !== undefined) {
    if (seq < run.seq) return;
    run.seq = seq + 1;
  }
  const admit = admitConsoleLine(state.config.limits, run.usage, line);
  if (admit === 'keep') run.console?.append({ t, line });
  else if (admit === 'last') {
    log('warn', `${run.record.job.name}: ${run.usage.exceeded}; further output discarded`, run.record.run_id);
    run.console?.append({ t, line: consoleCapNotice(run.usage.exceeded!) });
  }
}

/** Records the worker's job_finished: the run is stored as a result. */
export async function finishRun(state: ServerState, run: Run, outcome: Outcome): Promise<void> {
  const p = run.phase;
  if (p.kind !== 'running' && p.kind !== 'stopping') return;
  // A run the server stopped is recorded as such, whatever signal it died of: a timeout is retried, a cancel is not.
  if (p.kind === 'stopping' && p.requeue) return loseRun(state, run, p.why);
  if (p.kind === 'stopping') outcome = { kind: 'failed', message: p.why };
  await endRun(state, run, limitedOutcome(run.usage, outcome), false, false);
}

/** Records a run as lost (worker gone, no heartbeat, timeout) and requeues its job unless its retries are used up or its platform was dropped. */
export async function loseRun(state: ServerState, run: Run, why: string): Promise<void> {
  if (!isActive(run)) return;
  if (state.stopping) return leaveForRestart(state, run, run.console);
  const { job, retries } = run.record;
  const dropped = state.dropped.has(job.platform);
  const retry = retries < state.config.retries && !dropped;
  const message = retry
    ? why
    : dropped
      ? `${why} (not requeued: platform ${job.platform} is dropped)`
      : `${why} (gave up after ${retries + 1} attempts; waits for its next due time)`;
  await endRun(state, run, { kind: 'failed', message }, retry, true);
}

/** Stops the timers of every run: the server is stopping and runs stay in running/ for the next start. */
export function freezeRuns(state: ServerState): void {
  for (const run of state.runs.values()) {
    if (run.phase.kind === 'running') clearTimeout(run.phase.deadline);
    if (run.phase.kind === 'stopping' || run.phase.kind === 'awaiting_worker') clearTimeout(run.phase.grace);
  }
}

/**
 * A run cut off by the server's own shutdown is not the job's fault: it stays
 * in running/ as it is, and the next start requeues it (load.ts recoverRun).
 */
export async function leaveForRestart(state: ServerState, run: Run, console: ConsoleLog | null): Promise<void> {
  toLeftForRestart(run);
  releaseWorker(state, run);
  await console?.close().catch(() => undefined);
  state.runs.delete(run.record.run_id);
  log('info', `${run.record.job.name} left in running/ for the next start (the server is stopping)`, run.record.run_id);
  state.events.emit('run_ended', { runId: run.record.run_id, outcome: null });
}

/**
 * Ends an attempt: requeues its job if asked, stores its result (a lost
 * attempt's artifacts are removed first: they may be partial, and nothing
 * may serve them) and tells the subscribers.
 */
export async function endRun(state: ServerState, run: Run, outcome: Outcome, requeue: boolean, lost: boolean): Promise<void> {
  toStoring(run, outcome, requeue);
  const { record } = run;
  const id = record.run_id;
  releaseWorker(state, run);
  try {
    await run.console?.close();
  } catch (e) {
    log('error', `console of ${record.job.name} could not be written: ${reason(e)}`, id);
  }
  // Storage failure is never success: a console or artifact that could not be stored fails the run.
  const storage = run.usage.storage ?? run.console?.failure ?? null;
  if (storage && !requeue) outcome = { kind: 'failed', message: storage };
  const ended = (o: Outcome | null) => {
    state.runs.delete(id);
    toStored(run, o);
    state.events.emit('run_ended', { runId: id, outcome: o });
  };
  if (requeue) {
    try {
      await enqueueJob(state, record.job, { front: true, retries: record.retries + 1, ...(record.group ? { group: record.group } : {}) });
      await state.spool.dropRunJob(id);
      log('warn', `${record.job.name} requeued on ${record.job.platform} (attempt ${record.retries + 2})`, id);
    } catch (e) {
      log('error', `cannot requeue ${record.job.name}: ${reason(e)}; it is requeued at the next start`, id);
      return ended(null);
    }
  }
  let artifacts = run.artifacts;
  if (lost && artifacts.length + run.usage.artifacts > 0) {
    try {
      await state.spool.dropArtifacts(id);
      artifacts = [];
    } catch (e) {
      log('error', `cannot remove the artifacts of a lost attempt of ${record.job.name}: ${reason(e)}`, id);
    }
  }
  const result = resultOf(record, outcome, artifacts, run.console?.lines ?? 0);
  // An attempt that is retried is not a finished run: only final results are uploaded, and only they are builds of a verify group.
  const final = !requeue;
  if (final && record.group) result.group = record.group;
  await state.events.emitAndWait('run_storing', { result, final });
  try {
    const where = await state.spool.finishRun(result);
    state.results.set(id, record.job.name);
    log(outcome.kind === 'failed' ? 'warn' : 'info', `${record.job.name} finished: ${describeOutcome(outcome)}; stored in ${where}`, id);
    await state.events.emitAndWait('run_stored', { result, where, final });
  } catch (e) {
    // Left in running/: the next start finishes or requeues it.
    log('error', `cannot store the result of ${record.job.name} in ${state.spool.path('running', id)}: ${reason(e)}`, id);
  }
  ended(outcome);
}

/**
 * A run leaves its worker: a run sent ahead becomes the worker's current one
 * (it begins it now, so its timeout counts from now); a worker left idle that
 * asked for another job of a platform dropped meanwhile is told and closed.
 */
function releaseWorker(state: ServerState, run: Run): void {
  const w = run.worker;
  const id = run.record.run_id;
  if (w.ahead === id) w.ahead = null;
  if (w.runId !== id) return;
  w.runId = w.ahead ?? null;
  w.ahead = null;
  const next = w.runId ? state.runs.get(w.runId) : undefined;
  if (next?.phase.kind === 'running') rearmDeadline(next, runDeadline(state, next, Date.now()));
  else if (w.runId === null && w.waiting && state.dropped.has(w.facts.platform)) refuseDropped(w);
}

/**
 * Puts back a run its worker never began (sent ahead and dropped with its
 * connection, or never received): the job goes to the front of its queue
 * with its retries unchanged, and no result is stored. A run cancelled
 * meanwhile ends as cancelled; one of a dropped platform is lost as usual.
 *
 * Crash safety, in this order: run.json goes first (unlink, fsync running/<id>),
 * so a crash leaves job.json alone in running/<id>, which the next start
 * requeues as never started (load.ts recoverRun), storing nothing; then the
 * job is queued again (durable before the next step); then the directory
 * goes. A crash before that leaves job.json beside the queued copy: the start
 * requeues it, and a job is never queued twice (queue.ts enqueueJob). At no
 * point is the job in neither place.
 */
export async function returnUnstarted(state: ServerState, run: Run, why: string): Promise<void> {
  if (!isActive(run)) return;
  if (state.stopping) return leaveForRestart(state, run, run.console);
  const p = run.phase;
  if (p.kind === 'stopping' && !p.requeue) return endRun(state, run, { kind: 'failed', message: p.why }, false, true);
  if (state.dropped.has(run.record.job.platform)) return loseRun(state, run, why);
  const { record } = run;
  const id = record.run_id;
  toStoring(run, { kind: 'failed', message: why }, true);
  releaseWorker(state, run);
  await run.console?.close().catch(() => undefined);
  try {
    await state.spool.dropRunRecord(id);
    await enqueueJob(state, record.job, { front: true, retries: record.retries, ...(record.group ? { group: record.group } : {}) });
    await state.spool.removeRunning(id);
    log('info', `${record.job.name} back in the queue of ${record.job.platform}, never begun (${why})`, id);
  } catch (e) {
    log('error', `cannot put ${record.job.name} back in its queue: ${reason(e)}; it is requeued at the next start`, id);
  }
  state.runs.delete(id);
  toStored(run, null);
  state.events.emit('run_ended', { runId: id, outcome: null });
}
