import { Writable } from 'node:stream';
import type { ArtifactInfo, Outcome } from '../../protocol/types.js';
import { describeOutcome } from '../../protocol/types.js';
import type { Connection } from '../../protocol/connection.js';
import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import type { ResultRecord, RunRecord } from '../../spool/records.js';
import { ConsoleLog } from './console-log.js';
import { enqueueJob } from './dispatch.js';
import { pruneResults } from './retention.js';
import { countFinishedRun } from '../http/metrics.js';
import { admitArtifact, admitConsoleLine, limitedOutcome, newUsage } from './limits.js';
import type { RunState, ServerState, WorkerPeer } from './state.js';
import { afterRunStored, beforeRunStored } from '../uploads/upload.js';
import { groupMemberStored } from './verify.js';

// The running table: a run starts when a worker gets its job and ends
// exactly once, either with the worker's job_finished or as lost (connection
// gone, heartbeats stopped, timeout). Messages for any other run id are from
// a stale attempt and are rejected.

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

/** Starts tracking a claimed run and sends the job to its worker. */
export async function startRun(state: ServerState, record: RunRecord, worker: WorkerPeer): Promise<void> {
  const console = new ConsoleLog(state.spool.consolePath(record.run_id));
  await console.open();
  const run: RunState = { record, worker, console, artifacts: [], deadline: null, stop: null, usage: newUsage(), done: false };
  state.runs.set(record.run_id, run);
  worker.runId = record.run_id;
  const timeoutMs = record.job.timeout_s * 1000;
  run.deadline = setTimeout(() => stopRun(state, run, `timed out after ${record.job.timeout_s} s`, true), timeoutMs);
  log('info', `${record.job.name} on ${record.job.platform} started on worker ${worker.id} (${worker.facts.hostname})`, record.run_id);
  try {
    await worker.conn.send({ type: 'job', run_id: record.run_id, job: record.job });
  } catch (e) {
    void loseRun(state, run, `worker lost before it got the job: ${reason(e)}`);
  }
}

/**
 * Asks the worker to stop a run (kill its process group): at its timeout
 * (requeued within the retries) or on `cancel` (not requeued). If the worker
 * does not report within the grace period, the run is recorded as lost.
 */
export function stopRun(state: ServerState, run: RunState, why: string, requeue: boolean): void {
  if (run.done || run.stop) return;
  run.stop = { why, requeue };
  if (run.deadline) clearTimeout(run.deadline);
  log('warn', `${run.record.job.name}: ${why}; stopping it on worker ${run.worker.id}`, run.record.run_id);
  run.worker.conn.send({ type: 'cancel', run_id: run.record.run_id, reason: why }).catch(() => undefined);
  run.deadline = setTimeout(() => {
    run.worker.conn.destroy();
    const late = `${why}; the worker did not stop it within ${state.config.killGraceS} s`;
    if (requeue) void loseRun(state, run, late);
    else void endRun(state, run, { kind: 'failed', message: late }, false);
  }, state.config.killGraceS * 1000);
}

/** The run a worker may report on, or null (stale attempt, or not its run). */
export function ownRun(state: ServerState, w: WorkerPeer, runId: string): RunState | null {
  const run = state.runs.get(runId);
  if (!run || run.done || run.worker !== w) {
    log('warn', `worker ${w.id} reported on run ${runId}, which is not its current run (stale attempt): rejected`);
    return null;
  }
  return run;
}

/** Stores one output line of a run, up to the console limit (then one notice, and the rest is dropped). */
export function recordOutput(state: ServerState, run: RunState, t: number, line: string): void {
  const admit = admitConsoleLine(state.config.limits, run.usage, line);
  if (admit === 'keep') run.console.append({ t, line });
  else if (admit === 'last') {
    log('warn', `${run.record.job.name}: ${run.usage.exceeded}; further output discarded`, run.record.run_id);
    run.console.append({ t, line: `builder-server: ${run.usage.exceeded}; further output discarded` });
  }
}

/** Streams one announced artifact from the worker's connection into the run's directory (or discards it for a stale run). */
export async function receiveArtifact(state: ServerState, run: RunState | null, conn: Connection, a: ArtifactInfo): Promise<void> {
  if (!run) {
    await conn.readRaw(a.size, discard());
    return;
  }
  const before = run.usage.exceeded;
  const over = admitArtifact(state.config.limits, run.usage, a);
  if (over) {
    // Said once per run; the bytes are read and dropped so the worker's stream stays in step.
    if (!before) {
      log('warn', `artifact ${a.path} refused: ${over}; the run's later artifacts are discarded`, run.record.run_id);
      run.console.append({ t: 0, line: `builder-server: artifact ${a.path} refused: ${over}; later artifacts are discarded` });
    }
    await conn.readRaw(a.size, discard());
    return;
  }
  let target;
  try {
    target = await state.spool.openArtifact(run.record.run_id, a.path, a.mode);
  } catch (e) {
    log('warn', `artifact refused: ${reason(e)}`, run.record.run_id);
    run.console.append({ t: 0, line: `builder-server: artifact refused: ${reason(e)}` });
    await conn.readRaw(a.size, discard());
    return;
  }
  // A write error (disk full) may come after write() accepted the bytes: remember it, never let it crash the server.
  let writeError: Error | null = null;
  target.stream.on('error', (e: Error) => (writeError ??= e));
  try {
    await conn.readRaw(a.size, target.stream);
    await new Promise<void>((resolve, reject) => target.stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
  } catch (e) {
    target.stream.destroy();
    if (conn.isClosed) throw e;
    writeError ??= e as Error;
  }
  if (writeError) {
    log('error', `cannot store artifact ${a.path}: ${reason(writeError)}`, run.record.run_id);
    run.console.append({ t: 0, line: `builder-server: cannot store artifact ${a.path}: ${reason(writeError)}` });
    return;
  }
  run.artifacts.push({ path: target.path, size: a.size, mode: a.mode & 0o777, sha256: target.stream.sha256() });
}

function discard(): Writable {
  return new Writable({ write: (_c, _e, cb) => cb() });
}

/** Records the worker's job_finished: the run is stored as a result. */
export async function finishRun(state: ServerState, run: RunState, outcome: Outcome): Promise<void> {
  if (run.done) return;
  // A run the server stopped is recorded as such, whatever signal it died of: a timeout is retried, a cancel is not.
  if (run.stop?.requeue) return loseRun(state, run, run.stop.why);
  if (run.stop) outcome = { kind: 'failed', message: run.stop.why };
  await endRun(state, run, limitedOutcome(run.usage, outcome), false);
}

/** Records a run as lost (worker gone, no heartbeat, timeout) and requeues its job unless its retries are used up. */
export async function loseRun(state: ServerState, run: RunState, why: string): Promise<void> {
  if (run.done) return;
  if (state.stopping) return leaveForRestart(state, run);
  const { job, retries } = run.record;
  const retry = retries < state.config.retries && !state.dropped.has(job.platform) && !state.stopping;
  const message = retry ? why : `${why} (gave up after ${retries + 1} attempts; waits for its next due time)`;
  await endRun(state, run, { kind: 'failed', message }, retry);
}

/**
 * A run cut off by the server's own shutdown is not the job's fault: it stays
 * in running/ as it is, and the next start requeues it (load.ts recoverRun).
 */
async function leaveForRestart(state: ServerState, run: RunState): Promise<void> {
  run.done = true;
  if (run.deadline) clearTimeout(run.deadline);
  await run.console.close().catch(() => undefined);
  state.runs.delete(run.record.run_id);
  log('info', `${run.record.job.name} left in running/ for the next start (the server is stopping)`, run.record.run_id);
  run.console.emit('stored', null);
}

async function endRun(state: ServerState, run: RunState, outcome: Outcome, requeue: boolean): Promise<void> {
  run.done = true;
  if (run.deadline) clearTimeout(run.deadline);
  const { record } = run;
  const id = record.run_id;
  if (run.worker.runId === id) run.worker.runId = null;
  try {
    await run.console.close();
  } catch (e) {
    log('error', `console of ${record.job.name} could not be written: ${reason(e)}`, id);
  }
  if (requeue) {
    try {
      await enqueueJob(state, record.job, { front: true, retries: record.retries + 1, ...(record.group ? { group: record.group } : {}) });
      await state.spool.dropRunJob(id);
      log('warn', `${record.job.name} requeued on ${record.job.platform} (attempt ${record.retries + 2})`, id);
    } catch (e) {
      log('error', `cannot requeue ${record.job.name}: ${reason(e)}; it is requeued at the next start`, id);
      state.runs.delete(id);
      run.console.emit('stored', null);
      return;
    }
  }
  const result = resultOf(record, outcome, run.artifacts, run.console.lines);
  // Only a final run is a build of its verify group; a requeued attempt is not.
  if (!requeue && record.group) result.group = record.group;
  // An attempt that is retried is not a finished run: only final results are uploaded.
  const upload = requeue ? null : await beforeRunStored(state, result);
  try {
    const where = await state.spool.finishRun(result);
    state.results.set(id, record.job.name);
    countFinishedRun(state, result);
    if (result.group) void groupMemberStored(state, result);
    log(outcome.kind === 'failed' ? 'warn' : 'info', `${record.job.name} finished: ${describeOutcome(outcome)}; stored in ${where}`, id);
    if (state.config.keep > 0) await pruneResults(state, record.job.name);
    if (!requeue) void afterRunStored(state, result, where, upload);
  } catch (e) {
    // Left in running/: the next start finishes or requeues it.
    log('error', `cannot store the result of ${record.job.name} in ${state.spool.path('running', id)}: ${reason(e)}`, id);
  }
  state.runs.delete(id);
  run.console.emit('stored', outcome);
}
