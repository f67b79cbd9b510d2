import { timingSafeEqual } from 'node:crypto';
import { log } from '../../shared/log.js';
import type { RunRecord } from '../../spool/records.js';
import { ConsoleLog } from './console-log.js';
import { restoredUsage } from './limits.js';
import { toAwaitingWorker, toResumed, type Run } from './run-phase.js';
import { loseRun, runDeadline } from './runs.js';
import type { ServerState } from './state.js';
import type { WorkerLink, WorkerPeer } from './worker-peer.js';

// Reattachment (issue 14): a run whose worker went away (the server
// restarted, or the worker's connection dropped) waits in awaiting_worker
// for --reattach-grace. Its worker comes back with `resume` and the attempt
// credential it got with the job; the server says from which output seq to
// resend. After the grace the run is lost and requeued as before, and a
// worker coming back later is told the run is gone: one run never has two
// live attempts, because only the attempt holding the credential of the run
// in the table may report on it.

/** How long a run waits for its worker (ms): --reattach-grace, default 3 heartbeats. */
export function reattachGraceMs(state: ServerState): number {
  return state.config.reattachGraceMs ?? 3 * state.config.heartbeatMs;
}

function graceTimer(state: ServerState, run: Run, why: string): NodeJS.Timeout {
  const s = reattachGraceMs(state) / 1000;
  // why unref: a run's timer alone must not keep a server alive (a core driven by a test).
  return setTimeout(() => void loseRun(state, run, `${why}; it did not come back within ${s} s`), reattachGraceMs(state)).unref();
}

/**
 * Holds a running run whose worker's connection dropped, instead of losing
 * it; false when it cannot be held (grace 0, server stopping, a run the
 * server was stopping, an attempt without credential, a worker that cannot
 * resume): the caller loses it.
 */
export function awaitWorker(state: ServerState, run: Run, why: string): boolean {
  if (reattachGraceMs(state) <= 0 || state.stopping || run.phase.kind !== 'running' || !run.record.attempt || !run.worker.link.sendResume) return false;
  if (run.worker.runId === run.record.run_id) run.worker.runId = null;
  toAwaitingWorker(run, why, graceTimer(state, run, why));
  log('warn', `${run.record.job.name}: ${why}; waiting ${reattachGraceMs(state) / 1000} s for it to resume the run`, run.record.run_id);
  return true;
}

/** A worker that is not connected: what an adopted run holds until its worker resumes it. */
function absentWorker(record: RunRecord): WorkerPeer {
  const gone = () => Promise.reject(new Error('the worker is not connected'));
  const link: WorkerLink = { isClosed: true, sendJob: gone, sendResume: gone, sendCancel: () => undefined, refuse: () => undefined, drop: () => undefined };
  return { id: record.worker.id, link, peer: record.worker.peer, facts: record.worker.facts, since: record.started, runId: null, waiting: false };
}

/**
 * Adopts a run found in running/ at start: it waits for its worker with its
 * console reopened where it stopped (observers can follow it meanwhile).
 * False when it cannot be (grace 0, no credential): the caller recovers it.
 */
export async function adoptRun(state: ServerState, record: RunRecord): Promise<boolean> {
  if (reattachGraceMs(state) <= 0 || !record.attempt) return false;
  const console = new ConsoleLog(state.spool.consolePath(record.run_id));
  await console.openExisting();
  const why = 'the server restarted';
  // The next seq is the number of the worker's lines kept: each seq is one line (the server's own
  // artifact notices have none); the line that crossed the console limit is the notice, and the lines
  // past it, resent from there, are dropped again (restoredUsage).
  const usage = restoredUsage(state.config.limits, console.kept.bytes, console.kept.last);
  const seq = console.lines - console.kept.serverLines;
  const run = { record, worker: absentWorker(record), console, artifacts: [], usage, seq } as Omit<Run, 'phase'> as Run;
  run.phase = { kind: 'awaiting_worker', why, grace: graceTimer(state, run, why) };
  console.on('grew', () => state.events.emit('run_output', { runId: record.run_id }));
  state.runs.set(record.run_id, run);
  log('info', `${record.job.name} was running when the server stopped: waiting ${reattachGraceMs(state) / 1000} s for worker ${record.worker.id} to resume it`, record.run_id);
  return true;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A worker's `resume`: the run goes on with this worker if it is the
 * attempt in the table and awaits its worker (or still looks running on a
 * connection the server has not seen drop yet: that one is dropped).
 * Returns the seq to resend from, or why the run is gone.
 */
export function resumeRun(state: ServerState, w: WorkerPeer, runId: string, attempt: string): { from: number } | { gone: string } {
  const run = state.runs.get(runId);
  if (!run || !run.record.attempt || !sameSecret(run.record.attempt, attempt)) return { gone: 'the run is not in progress on this server (lost and requeued, or finished)' };
  if (w.runId !== null) return { gone: `this worker is already on run ${w.runId}` };
  if (run.phase.kind === 'running' && run.worker !== w) {
    const old = run.worker;
    if (old.runId === runId) old.runId = null;
    old.link.drop();
    toAwaitingWorker(run, 'its worker reconnected', setTimeout(() => undefined, 0));
  }
  if (run.phase.kind !== 'awaiting_worker') return { gone: `the run is ${run.phase.kind.replace('_', ' ')}` };
  toResumed(run, w, runDeadline(state, run));
  w.runId = runId;
  // The worker sends its artifacts again, whole: what the last connection sent may be partial.
  run.artifacts.length = 0;
  run.usage.artifacts = 0;
  run.usage.artifactBytes = 0;
  log('info', `${run.record.job.name}: worker ${w.id} (${w.facts.hostname}) resumed the run from line ${run.seq}`, runId);
  return { from: run.seq };
}
