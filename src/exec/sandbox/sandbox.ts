import type { ChildProcess } from 'node:child_process';
import type { Outcome } from '../../protocol/types.js';

// The one contract every sandbox driver (none, docker/podman, jail) keeps, so
// that run-job.ts streams output, kills on cancel and collects artifacts the
// same way whatever runs the script. A job's life in a driver:
//   prepare -> start -> (kill on cancel/timeout) -> exit -> settle -> [artifacts read] -> release

/** The sandboxes the worker can drive (`--sandbox`). */
export type SandboxKind = 'none' | 'docker' | 'podman' | 'jail';

/** One job as a driver sees it. */
export interface SandboxJob {
  /** The run id (names containers, jails and clones: one per run). */
  runId: string;
  /** The job's name (BUILDER_JOB, the only variable the worker sets for a job). */
  name: string;
  /** The job's private dir on the worker's host: the script is in it, artifacts are read from it. */
  dir: string;
  /** The script's file name in `dir`. */
  script: string;
  /** Whether the script starts with #! (run as a file) or not (run with /bin/sh). */
  shebang: boolean;
}

/** A started job: its process (stdout/stderr are the job's output) and how to stop it. */
export interface SandboxProcess {
  child: ChildProcess;
  /** Kills the whole job (its process group, container or jail); safe to call more than once. */
  kill(signal: 'SIGTERM' | 'SIGKILL'): void;
  /** Maps the process's exit to the job's outcome where the driver knows better (an engine's 128+N after a kill); null: the default mapping. */
  outcomeOf?(code: number | null, signal: NodeJS.Signals | null, killed: boolean): Outcome | null;
}

/** A sandbox driver. */
export interface Sandbox {
  readonly kind: SandboxKind;
  /** A one-line description for the start-up log, e.g. `docker image debian:12`. */
  readonly description: string;
  /** The user the job runs as on this host when not the worker's: its script is given to it, and every artifact must be its file (so a job cannot hand the worker someone else's). */
  readonly jobOwner?: { uid: number; gid: number };
  /** At start: throws a usage error (exit 124) naming what is missing when the sandbox cannot work (no engine, no image, no snapshot). */
  check(): void;
  /** At start, after check: takes what this worker must have alone on the host (its job user); rejects with a usage error naming the holder. */
  claim?(): Promise<void>;
  /** Makes the job's fresh private dir (mode 0700, owned by whoever runs the job) under `workRoot`. */
  prepare(runId: string, workRoot: string): Promise<string>;
  /** Starts the job's script in the sandbox; throws when it cannot be started. */
  start(job: SandboxJob): SandboxProcess;
  /** After the script ended, before artifacts are read: ends whatever of the job is left (processes, container, jail). */
  settle(job: SandboxJob): Promise<void>;
  /** After the artifacts were sent: removes the dir and whatever the sandbox was made of (a clone). Never throws. */
  release(job: SandboxJob): Promise<void>;
}
