import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { BuilderError } from '../../shared/errors.js';
import type { Sandbox, SandboxJob, SandboxProcess } from './sandbox.js';

// `--sandbox docker|podman`: a fresh `run --rm` container per job. The worker
// stays on the host with its credential; the container gets the job's dir
// (mounted at /builder-job) and BUILDER_JOB, nothing else: no worker binary,
// no token, no spool, and the engine's default network unless --engine-flags
// sets one.

/** Where the job's dir is mounted in the container. */
export const CONTAINER_DIR = '/builder-job';

/** The container engines (their CLIs take the same words). */
export type Engine = 'docker' | 'podman';

/** What a container sandbox runs. */
export interface ContainerSettings {
  engine: Engine;
  image: string;
  /** Extra words for `run`, before the image (--engine-flags), e.g. --memory 8g --network none. */
  engineFlags: string[];
}

/** The default image of a platform: its first `-` becomes `:` (`debian-12` -> `debian:12`, `ubuntu-24.04` -> `ubuntu:24.04`). */
export function imageFor(platform: string): string {
  const i = platform.indexOf('-');
  return i > 0 ? `${platform.slice(0, i)}:${platform.slice(i + 1)}` : platform;
}

/** The container's name for a run (kill and remove address it by name). */
export function containerName(runId: string): string {
  return `builder-job-${runId}`;
}

/** Splits --engine-flags into words at white space (no quoting: a word with a space cannot be given). */
export function splitFlags(text: string | undefined): string[] {
  return (text ?? '').split(/\s+/).filter((w) => w !== '');
}

/** The argv (after the engine's name) that runs one job. */
export function runArgs(s: ContainerSettings, job: SandboxJob): string[] {
  const script = `${CONTAINER_DIR}/${job.script}`;
  return [
    'run', '--rm', '--init',
    '--name', containerName(job.runId),
    '--label', `builder.run=${job.runId}`,
    '--volume', `${job.dir}:${CONTAINER_DIR}`,
    '--workdir', CONTAINER_DIR,
    '--env', `BUILDER_JOB=${job.name}`,
    ...s.engineFlags,
    s.image,
    ...(job.shebang ? [script] : ['/bin/sh', script]),
  ];
}

/** The argv that signals a run's container (SIGKILL removes it outright). */
export function killArgs(runId: string, signal: 'SIGTERM' | 'SIGKILL'): string[] {
  return signal === 'SIGKILL' ? ['rm', '--force', containerName(runId)] : ['kill', '--signal', 'TERM', containerName(runId)];
}

/** The environment for the engine's CLI: the worker's, minus every BUILDER_* variable (the CLI needs DOCKER_HOST and the like, never our token). */
export function engineEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('BUILDER_')));
}

function engineQuiet(engine: Engine, args: string[]): { ok: boolean; why: string } {
  const r = spawnSync(engine, args, { encoding: 'utf8', timeout: 30_000, env: engineEnv(process.env), stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) return { ok: false, why: (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? `${engine} is not installed (not on PATH)` : r.error.message };
  const last = (r.stderr ?? '').trim().split('\n').pop() ?? '';
  return { ok: r.status === 0, why: last || `exit ${r.status}` };
}

/** A container sandbox driver. */
export function containerSandbox(s: ContainerSettings): Sandbox {
  return {
    kind: s.engine,
    description: `${s.engine}: a fresh container of ${s.image} per job${s.engineFlags.length ? ` (${s.engineFlags.join(' ')})` : ''}`,
    check(): void {
      const info = engineQuiet(s.engine, ['info']);
      if (!info.ok) throw new BuilderError('usage', `--sandbox ${s.engine}: the engine does not answer: ${info.why} (is it running, and may this user use it?)`);
      const image = engineQuiet(s.engine, ['image', 'inspect', s.image]);
      if (!image.ok) throw new BuilderError('usage', `--sandbox ${s.engine}: no image ${s.image} (${s.engine} pull ${s.image}, or give --image / $BUILDER_WORKER_IMAGE)`);
    },
    async prepare(_runId: string, workRoot: string): Promise<string> {
      const dir = await fs.mkdtemp(join(workRoot, 'builder-'));
      await fs.chmod(dir, 0o700);
      return dir;
    },
    start(job: SandboxJob): SandboxProcess {
      const child = spawn(s.engine, runArgs(s, job), { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: engineEnv(process.env) });
      // The engine's CLI is never signalled: the container is, through the engine.
      // After the CLI returned the container is gone (--rm; settle makes sure).
      const kill = (sig: 'SIGTERM' | 'SIGKILL') => {
        if (child.exitCode === null && child.signalCode === null) spawn(s.engine, killArgs(job.runId, sig), { stdio: 'ignore', env: engineEnv(process.env) }).on('error', () => undefined);
      };
      return {
        child,
        kill,
        // --init passes the job's fate on as 128+N; after our kill that is the signal.
        outcomeOf: (code, _signal, killed) => (killed && code !== null && code > 128 && code < 160 ? { kind: 'signalled', signal: code - 128 } : null),
      };
    },
    async settle(job: SandboxJob): Promise<void> {
      await new Promise<void>((r) => spawn(s.engine, ['rm', '--force', containerName(job.runId)], { stdio: 'ignore', env: engineEnv(process.env) }).on('error', () => r()).on('close', () => r()));
    },
    async release(job: SandboxJob): Promise<void> {
      await fs.rm(job.dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}
