import { promises as fs } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { Job, Outcome } from '../protocol/types.js';
import { reason } from '../shared/errors.js';
import { findArtifacts, type FoundArtifact } from './artifacts.js';
import { forEachLine } from './lines.js';
import { noneSandbox } from './sandbox/none.js';
import type { Sandbox, SandboxJob, SandboxProcess } from './sandbox/sandbox.js';

/** The script's file name inside the work dir (never sent back as an artifact). */
export const SCRIPT_NAME = 'job.sh';

/** What running one job gave: its outcome, the files it left (after an exit only), its work dir, and what removes the dir and the sandbox (call once the artifacts were sent). */
export interface JobResult {
  outcome: Outcome;
  artifacts: FoundArtifact[];
  dir: string | null;
  release(): Promise<void>;
}

/** How to run a job and where its output goes. */
export interface RunOptions {
  /** Parent of the fresh private work dir (default: the OS temp dir). */
  workRoot?: string;
  /** Receives each output line (stdout and stderr) with nanoseconds since start; a rejection kills the job. */
  onLine: (t: number, line: string) => Promise<void>;
  /** Aborting kills the job's process group (cancel, timeout, lost server). */
  signal: AbortSignal;
  /** What runs the script (default: `none` as this process's user). */
  sandbox?: Sandbox;
  /** The run id (names a container or jail); default: a name from the job and the time. */
  runId?: string;
  /** Told once the script's process has exited, before its output is drained, the sandbox settled and its files listed. */
  onExit?: () => void;
}

const KILL_GRACE_MS = 2000;
const OUTPUT_GRACE_MS = 2000;

function signalNumber(name: NodeJS.Signals): number {
  return os.constants.signals[name] ?? 0;
}

/**
 * Runs one job in its sandbox: a fresh private dir, the script written there
 * (mode 0500) and executed as a file (its #! line decides the interpreter;
 * /bin/sh when it has none) in its own process group (or container, or
 * jail); every output line streamed as it comes. When the script exits (any
 * code) the sandbox is settled (nothing of the job runs on) and the files it
 * left are listed; after a signal none are, as in the original. Failures to
 * set the job up become a `failed` outcome, never an exception.
 */
export async function runJob(job: Job, opts: RunOptions): Promise<JobResult> {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started);
  const say = (line: string) => opts.onLine(elapsed(), `builder-worker: ${line}`);
  const sandbox = opts.sandbox ?? noneSandbox(null);
  const root = opts.workRoot ?? os.tmpdir();
  const runId = opts.runId ?? `${job.name}-${Date.now()}`;
  let dir: string;
  try {
    dir = await sandbox.prepare(runId, root);
  } catch (e) {
    return { outcome: { kind: 'failed', message: `cannot create the work dir in ${root}: ${reason(e)}` }, artifacts: [], dir: null, release: async () => undefined };
  }
  const spec: SandboxJob = { runId, name: job.name, dir, script: SCRIPT_NAME, shebang: job.script.startsWith('#!') };
  const release = () => sandbox.release(spec);
  const failed = async (message: string): Promise<JobResult> => {
    await sandbox.settle(spec);
    return { outcome: { kind: 'failed', message }, artifacts: [], dir, release };
  };
  const script = join(dir, SCRIPT_NAME);
  try {
    await fs.writeFile(script, job.script, { mode: 0o500, flag: 'wx' });
    if (sandbox.jobOwner) await fs.chown(script, sandbox.jobOwner.uid, sandbox.jobOwner.gid);
  } catch (e) {
    return failed(`cannot write the job script ${script}: ${reason(e)}`);
  }
  // A cancel while the job was being set up: it never starts (the abort listener below would come too late).
  if (opts.signal.aborted) return failed(`stopped before it started: ${reason(opts.signal.reason)}`);
  let proc: SandboxProcess;
  try {
    proc = sandbox.start(spec);
  } catch (e) {
    return failed(`cannot start ${script}: ${reason(e)}`);
  }
  const child = proc.child;
  let sendError: unknown = null;
  let killed = false;
  const kill = () => {
    killed = true;
    proc.kill('SIGTERM');
    setTimeout(() => proc.kill('SIGKILL'), KILL_GRACE_MS).unref();
  };
  opts.signal.addEventListener('abort', kill, { once: true });
  const onLine = async (line: string) => {
    if (sendError) return;
    try {
      await opts.onLine(elapsed(), line);
    } catch (e) {
      // The server cannot hear us: the job must not go on unobserved.
      sendError = e;
      killed = true;
      proc.kill('SIGKILL');
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
      proc.kill('SIGKILL');
      resolve({ code, signal });
    });
  });
  const output = Promise.all([readAll(child.stdout, 'stdout'), readAll(child.stderr, 'stderr')]);
  const status = await exited;
  opts.onExit?.();
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
  // Nothing of the job may run on while its files are read.
  await sandbox.settle(spec);
  if (sendError) {
    await release();
    throw sendError;
  }
  if (status.error) return { outcome: { kind: 'failed', message: `cannot start ${script}: ${reason(status.error)}` }, artifacts: [], dir, release };
  const mapped = proc.outcomeOf?.(status.code, status.signal, killed);
  if (mapped) return { outcome: mapped, artifacts: [], dir, release };
  if (status.signal) return { outcome: { kind: 'signalled', signal: signalNumber(status.signal) }, artifacts: [], dir, release };
  const artifacts = await ownedArtifacts(await findArtifacts(dir, SCRIPT_NAME, say), sandbox.jobOwner?.uid, say);
  return { outcome: { kind: 'exited', code: status.code ?? 0 }, artifacts, dir, release };
}

/** Keeps the artifacts that belong to `uid` (when the job ran as another user): a hard link to someone else's file is not the job's to send. */
async function ownedArtifacts(found: FoundArtifact[], uid: number | undefined, say: (line: string) => Promise<void>): Promise<FoundArtifact[]> {
  if (uid === undefined) return found;
  const out: FoundArtifact[] = [];
  for (const a of found) {
    const st = await fs.lstat(a.full).catch(() => null);
    if (st !== null && st.uid === uid && st.isFile()) out.push(a);
    else await say(`artifact ${a.path} is not a file of the job's user; not sent`);
  }
  return out;
}
