import { spawn } from 'node:child_process';
import { promises as fs, constants as fsc } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { Job, Outcome } from '../protocol/types.js';
import { reason } from '../shared/errors.js';
import { findArtifacts, type FoundArtifact } from './artifacts.js';
import { forEachLine } from './lines.js';

/** The script's file name inside the work dir (never sent back as an artifact). */
export const SCRIPT_NAME = 'job.sh';

/** What running one job gave: its outcome, the files it left (after an exit only) and its work dir to remove. */
export interface JobResult {
  outcome: Outcome;
  artifacts: FoundArtifact[];
  dir: string | null;
}

/** How to run a job and where its output goes. */
export interface RunOptions {
  /** Parent of the fresh private work dir (default: the OS temp dir). */
  workRoot?: string;
  /** Receives each output line (stdout and stderr) with nanoseconds since start; a rejection kills the job. */
  onLine: (t: number, line: string) => Promise<void>;
  /** Aborting kills the job's process group (cancel, timeout, lost server). */
  signal: AbortSignal;
}

const KILL_GRACE_MS = 2000;
const OUTPUT_GRACE_MS = 2000;

function signalNumber(name: NodeJS.Signals): number {
  return os.constants.signals[name] ?? 0;
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // The group is already gone.
  }
}

/**
 * Runs one job: a fresh private temp dir, the script written there (mode
 * 0500) and executed as a file (its #! line decides the interpreter; /bin/sh
 * when it has none) in its own process group; every output line streamed as
 * it comes. When the script exits (any code) the files it left are listed;
 * after a signal none are, as in the original. Failures to set the job up
 * become a `failed` outcome, never an exception.
 */
export async function runJob(job: Job, opts: RunOptions): Promise<JobResult> {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started);
  const say = (line: string) => opts.onLine(elapsed(), `builder-worker: ${line}`);
  let dir: string;
  try {
    dir = await fs.mkdtemp(join(opts.workRoot ?? os.tmpdir(), 'builder-'));
    await fs.chmod(dir, 0o700);
  } catch (e) {
    return { outcome: { kind: 'failed', message: `cannot create the work dir in ${opts.workRoot ?? os.tmpdir()}: ${reason(e)}` }, artifacts: [], dir: null };
  }
  const script = join(dir, SCRIPT_NAME);
  try {
    await fs.writeFile(script, job.script, { mode: 0o500, flag: 'wx' });
  } catch (e) {
    return { outcome: { kind: 'failed', message: `cannot write the job script ${script}: ${reason(e)}` }, artifacts: [], dir };
  }
  // A cancel while the job was being set up: it never starts (the abort listener below would come too late).
  if (opts.signal.aborted) return { outcome: { kind: 'failed', message: `stopped before it started: ${reason(opts.signal.reason)}` }, artifacts: [], dir };
  const hasShebang = job.script.startsWith('#!');
  const [cmd, args] = hasShebang ? [script, []] : ['/bin/sh', [script]];
  let child;
  try {
    await fs.access(script, fsc.R_OK);
    child = spawn(cmd, args, { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BUILDER_JOB: job.name } });
  } catch (e) {
    return { outcome: { kind: 'failed', message: `cannot start ${script}: ${reason(e)}` }, artifacts: [], dir };
  }
  const pid = child.pid;
  let sendError: unknown = null;
  const kill = () => {
    if (pid === undefined) return;
    killGroup(pid, 'SIGTERM');
    setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS).unref();
  };
  opts.signal.addEventListener('abort', kill, { once: true });
  const onLine = async (line: string) => {
    if (sendError) return;
    try {
      await opts.onLine(elapsed(), line);
    } catch (e) {
      // The server cannot hear us: the job must not go on unobserved.
      sendError = e;
      if (pid !== undefined) killGroup(pid, 'SIGKILL');
    }
  };
  let outputClosed = false;
  const readAll = (s: NodeJS.ReadableStream | null, name: string) =>
    s
      ? forEachLine(s as never, onLine).catch((e) => (outputClosed ? undefined : onLine(`builder-worker: cannot read the job's ${name}: ${reason(e)}`)))
      : Promise.resolve();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('exit', (code, signal) => {
      // Whatever the script left running in its group ends with it.
      if (pid !== undefined) killGroup(pid, 'SIGKILL');
      resolve({ code, signal });
    });
  });
  const output = Promise.all([readAll(child.stdout, 'stdout'), readAll(child.stderr, 'stderr')]);
  const status = await exited;
  // A process that left the job's group (setsid, a daemon) may hold the output open forever:
  // after the script exited, its output gets a short grace, then the pipes are closed.
  const held = await Promise.race([output.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), OUTPUT_GRACE_MS).unref())]);
  if (held) {
    outputClosed = true;
    child.stdout?.destroy();
    child.stderr?.destroy();
    await output;
    await onLine(`builder-worker: the job's output was still held open ${OUTPUT_GRACE_MS / 1000} s after the script ended (a process outside its group, e.g. a daemon); stopped reading it`);
  }
  opts.signal.removeEventListener('abort', kill);
  if (sendError) throw sendError;
  if (status.error) return { outcome: { kind: 'failed', message: `cannot start ${script}: ${reason(status.error)}` }, artifacts: [], dir };
  if (status.signal) return { outcome: { kind: 'signalled', signal: signalNumber(status.signal) }, artifacts: [], dir };
  const artifacts = await findArtifacts(dir, SCRIPT_NAME, say);
  return { outcome: { kind: 'exited', code: status.code ?? 0 }, artifacts, dir };
}
