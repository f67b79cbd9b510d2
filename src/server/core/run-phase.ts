import type { ArtifactInfo, Outcome } from '../../protocol/types.js';
import { BuilderError } from '../../shared/errors.js';
import type { RunRecord } from '../../spool/records.js';
import type { ConsoleLog } from './console-log.js';
import type { RunUsage } from './limits.js';
import type { WorkerPeer } from './worker-peer.js';

// A run's life as a union of phases, each carrying its own data:
//
//   claiming ──> running ──> stopping(why, requeue) ──> storing ──> stored
//       │            │                                    ^
//       │            └────────────────────────────────────┘  (finished or lost)
//       ├──> storing (it could not start: its console cannot be opened)
//       └──> stored (the claim failed: nothing to store)
//
// A phase is entered only through the transitions below, which check where
// the run comes from and throw on an impossible move (a bug, never a peer's
// doing: callers check `isActive` etc. first).
//
// awaiting_worker: a run found in running/ at start, or whose worker's
// connection dropped, waits `--reattach-grace` for its worker to come back
// (reattach.ts): back to running on a resume; to storing (lost) after the
// grace; to stored when the server stops again meanwhile.

/** Where a run is in its life. */
export type RunPhase =
  | { kind: 'claiming'; stopAsked: { why: string; requeue: boolean } | null }
  | { kind: 'running'; deadline: NodeJS.Timeout }
  | { kind: 'awaiting_worker'; why: string; grace: NodeJS.Timeout }
  | { kind: 'stopping'; why: string; requeue: boolean; grace: NodeJS.Timeout }
  | { kind: 'storing'; outcome: Outcome; requeue: boolean }
  | { kind: 'stored'; outcome: Outcome | null };

/** One dispatched attempt of a job, in the server's running table. */
export interface Run {
  readonly record: RunRecord;
  /** Changes only when the run's worker resumes it over a new connection. */
  worker: WorkerPeer;
  /** Open from `running` on; null while claiming. */
  console: ConsoleLog | null;
  readonly artifacts: ArtifactInfo[];
  readonly usage: RunUsage;
  /** The next output seq expected from the worker: lines below it were stored already. */
  seq: number;
  phase: RunPhase;
}

/** Phases in which the run's worker is (or is about to be) executing it: it may still report, and a due run of the job waits. */
export function isActive(run: Run): boolean {
  return run.phase.kind === 'claiming' || run.phase.kind === 'running' || run.phase.kind === 'stopping' || run.phase.kind === 'awaiting_worker';
}

function move(run: Run, from: RunPhase['kind'][], to: RunPhase): void {
  if (!from.includes(run.phase.kind)) {
    throw new BuilderError('impossible_transition', `run ${run.record.run_id}: cannot go from ${run.phase.kind} to ${to.kind} (only from ${from.join(', ')})`);
  }
  run.phase = to;
}

/** claiming -> running: the claim is durable and the job goes to the worker; `deadline` is the job's timeout. */
export function toRunning(run: Run, console: ConsoleLog, deadline: NodeJS.Timeout): void {
  move(run, ['claiming'], { kind: 'running', deadline });
  run.console = console;
}

/** running -> running: a run sent ahead is begun by its worker only now; `deadline` replaces the one armed when it was sent. */
export function rearmDeadline(run: Run, deadline: NodeJS.Timeout): void {
  const p = run.phase;
  move(run, ['running'], { kind: 'running', deadline });
  if (p.kind === 'running') clearTimeout(p.deadline);
}

/** running -> stopping: the server asked the worker to stop (timeout: requeue, cancel: not); `grace` ends the wait. */
export function toStopping(run: Run, why: string, requeue: boolean, grace: NodeJS.Timeout): void {
  const p = run.phase;
  move(run, ['running'], { kind: 'stopping', why, requeue, grace });
  if (p.kind === 'running') clearTimeout(p.deadline);
}

/** Records, during the claim, that the run must be stopped as soon as it runs (a cancel while its job was being set up). */
export function askStopWhileClaiming(run: Run, why: string, requeue: boolean): void {
  if (run.phase.kind !== 'claiming') throw new BuilderError('impossible_transition', `run ${run.record.run_id}: a stop can be noted only while claiming, not ${run.phase.kind}`);
  run.phase.stopAsked ??= { why, requeue };
}

/** running|stopping -> awaiting_worker: the worker's connection dropped; `grace` ends the wait. */
export function toAwaitingWorker(run: Run, why: string, grace: NodeJS.Timeout): void {
  const p = run.phase;
  move(run, ['running', 'stopping'], { kind: 'awaiting_worker', why, grace });
  if (p.kind === 'running') clearTimeout(p.deadline);
  if (p.kind === 'stopping') clearTimeout(p.grace);
}

/** awaiting_worker -> running: its worker came back (`deadline`: what is left of the job's timeout). */
export function toResumed(run: Run, worker: WorkerPeer, deadline: NodeJS.Timeout): void {
  const p = run.phase;
  move(run, ['awaiting_worker'], { kind: 'running', deadline });
  if (p.kind === 'awaiting_worker') clearTimeout(p.grace);
  run.worker = worker;
}

/** running|stopping -> storing: the attempt ended (finished, lost, timed out, cancelled) with this outcome; from claiming when it could not start. */
export function toStoring(run: Run, outcome: Outcome, requeue: boolean): void {
  const p = run.phase;
  move(run, ['claiming', 'running', 'stopping', 'awaiting_worker'], { kind: 'storing', outcome, requeue });
  if (p.kind === 'running') clearTimeout(p.deadline);
  if (p.kind === 'stopping' || p.kind === 'awaiting_worker') clearTimeout(p.grace);
}

/** storing|claiming -> stored: the run left the table (`outcome` null: nothing was stored). */
export function toStored(run: Run, outcome: Outcome | null): void {
  move(run, ['storing', 'claiming'], { kind: 'stored', outcome });
}

/** Any live phase -> stored without storing: the server is stopping and the run stays in running/ for the next start. */
export function toLeftForRestart(run: Run): void {
  const p = run.phase;
  move(run, ['claiming', 'running', 'stopping', 'awaiting_worker'], { kind: 'stored', outcome: null });
  if (p.kind === 'running') clearTimeout(p.deadline);
  if (p.kind === 'stopping' || p.kind === 'awaiting_worker') clearTimeout(p.grace);
}
