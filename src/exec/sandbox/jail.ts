import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { BuilderError } from '../../shared/errors.js';
import { DEFAULT_PATH, jobEnv } from './job-env.js';
import { killGroup } from './kill-group.js';
import type { Sandbox, SandboxJob, SandboxProcess } from './sandbox.js';

// `--sandbox jail` (FreeBSD, as root): per job, a ZFS clone of the
// platform's snapshot becomes a fresh jail's root; the job's dir is made
// inside it (/builder-job), the script runs there as the jail's root (jexec), the
// jail is removed (`jail -r`, which kills what is left) before artifacts
// are read, and the clone is destroyed after they were sent. The jail gets
// no network unless --engine-flags gives jail(8) parameters for one
// (e.g. ip4.addr=lo1|127.0.2.10 with pf NAT); it never sees the worker's
// binary, token or environment.

/** Where the job's dir is inside the jail. */
export const JAIL_DIR = '/builder-job';

/** What a jail sandbox is made of. */
export interface JailSettings {
  /** POOL/DATASET@SNAP: a FreeBSD userland to clone per job (--jail-snapshot). */
  snapshot: string;
  /** Extra jail(8) parameters, name=value words (--engine-flags). */
  params: string[];
}

/** The names one run's jail is made of. */
export interface JailNames {
  jail: string;
  dataset: string;
  root: string;
}

/** Checks POOL/DATASET@SNAP (a usage error otherwise). */
export function checkSnapshot(snapshot: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:/-]*@[A-Za-z0-9_.:-]+$/.test(snapshot) || snapshot.includes('//') || snapshot.includes('/@'))
    throw new BuilderError('usage', `--jail-snapshot must be POOL/DATASET@SNAPSHOT (e.g. zroot/jails/freebsd-14@clean), not "${snapshot}"`);
}

/** The jail, clone and mount point of a run: the clone sits beside the snapshot's dataset, mounted under `workRoot`. */
export function jailNames(snapshot: string, runId: string, workRoot: string): JailNames {
  const dataset = snapshot.slice(0, snapshot.indexOf('@'));
  const parent = dataset.includes('/') ? dataset.slice(0, dataset.lastIndexOf('/')) : dataset;
  // jail(8) names may not contain dots; run ids are uuids.
  const jail = `builder-job-${runId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return { jail, dataset: `${parent}/${jail}`, root: join(workRoot, jail) };
}

/** `zfs ...` that makes the run's clone. */
export function cloneArgs(snapshot: string, n: JailNames): string[] {
  return ['clone', '-o', `mountpoint=${n.root}`, snapshot, n.dataset];
}

/** `jail ...` that makes the run's jail: persistent (no command), so its removal and devfs unmount are always ours (`jail -r`). */
export function createArgs(s: JailSettings, n: JailNames): string[] {
  return ['-c', `name=${n.jail}`, `path=${n.root}`, `host.hostname=${n.jail}`, 'persist', 'mount.devfs', 'ip4=disable', 'ip6=disable', ...s.params];
}

/** `jexec ...` that runs the job in its jail: jexec attaches and execs, so the job is the child itself (its exit, its signal, its process group). */
export function execArgs(n: JailNames, job: SandboxJob): string[] {
  const script = `${JAIL_DIR}/${job.script}`;
  return [n.jail, '/bin/sh', '-c', job.shebang ? `cd ${JAIL_DIR} && exec ${script}` : `cd ${JAIL_DIR} && exec /bin/sh ${script}`];
}

/** `jail -r NAME`: kills every process in the jail and removes it. */
export function removeArgs(n: JailNames): string[] {
  return ['-r', n.jail];
}

/** `zfs destroy ...` of the run's clone. */
export function destroyArgs(n: JailNames): string[] {
  return ['destroy', '-f', '-r', n.dataset];
}

function run(cmd: string, args: string[]): Promise<{ ok: boolean; why: string }> {
  return new Promise((resolve) => {
    let err = '';
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: DEFAULT_PATH } });
    c.stderr.on('data', (d) => (err += d));
    c.on('error', (e) => resolve({ ok: false, why: e.message }));
    c.on('close', (code) => resolve({ ok: code === 0, why: err.trim().split('\n').pop() || `exit ${code}` }));
  });
}

/** A jail sandbox driver. */
export function jailSandbox(s: JailSettings): Sandbox {
  const names = new Map<string, JailNames>();
  const namesOf = (job: SandboxJob) => names.get(job.runId)!;
  return {
    kind: 'jail',
    description: `jail: a fresh jail on a clone of ${s.snapshot} per job`,
    check(): void {
      if (process.getuid?.() !== 0) throw new BuilderError('usage', '--sandbox jail needs the worker to run as root (jail(8) and zfs clone do)');
      const r = spawnSync('zfs', ['list', '-H', '-t', 'snapshot', '-o', 'name', s.snapshot], { encoding: 'utf8', timeout: 30_000 });
      if (r.status !== 0) throw new BuilderError('usage', `--jail-snapshot ${s.snapshot}: no such ZFS snapshot (${(r.stderr ?? r.error?.message ?? '').trim().split('\n').pop()}); make one with zfs snapshot`);
    },
    async prepare(runId: string, workRoot: string): Promise<string> {
      const n = jailNames(s.snapshot, runId, workRoot);
      // A crashed worker's leftovers of the same run would make the clone fail.
      await run('jail', removeArgs(n));
      await run('zfs', destroyArgs(n));
      const cloned = await run('zfs', cloneArgs(s.snapshot, n));
      if (!cloned.ok) throw new Error(`zfs clone ${s.snapshot} ${n.dataset}: ${cloned.why}`);
      names.set(runId, n);
      const dir = join(n.root, JAIL_DIR);
      await fs.mkdir(dir, { mode: 0o700 });
      const created = await run('jail', createArgs(s, n));
      if (!created.ok) throw new Error(`jail -c ${n.jail}: ${created.why}`);
      return dir;
    },
    start(job: SandboxJob): SandboxProcess {
      const n = namesOf(job);
      // jexec passes its environment on: give it the job's, never the worker's.
      const child = spawn('jexec', execArgs(n, job), { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: jobEnv({}, { name: job.name, home: '/root' }) });
      const pid = child.pid;
      return {
        child,
        kill: (sig) => {
          if (pid !== undefined) killGroup(pid, sig);
          // What left the group (a daemon in the jail) ends with the jail.
          if (sig === 'SIGKILL') void run('jail', removeArgs(n));
        },
      };
    },
    async settle(job: SandboxJob): Promise<void> {
      await run('jail', removeArgs(namesOf(job)));
    },
    async release(job: SandboxJob): Promise<void> {
      const n = names.get(job.runId);
      if (!n) return;
      names.delete(job.runId);
      await run('zfs', destroyArgs(n));
    },
  };
}
