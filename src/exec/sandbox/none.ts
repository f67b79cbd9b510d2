import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { jobEnv } from './job-env.js';
import { killAllOf, type JobUser } from './job-user.js';
import { claimJobUser } from './job-user-claim.js';
import { killGroup } from './kill-group.js';
import type { Sandbox, SandboxJob, SandboxProcess } from './sandbox.js';

/**
 * `--sandbox none`: the job runs on this host, in its own process group.
 * With a job user (the worker runs as root) it runs as that user, in a dir
 * owned by it, and after the script every process of that user is killed
 * (daemons it left behind). Without one it runs as the worker's own user:
 * then the sandbox is whatever the worker itself runs in.
 */
export function noneSandbox(user: JobUser | null, env: NodeJS.ProcessEnv = process.env): Sandbox {
  return {
    kind: 'none',
    description: user ? `none: jobs run on this host as ${user.name} (uid ${user.uid})` : `none: jobs run on this host as this worker's user (uid ${process.getuid?.() ?? '?'})`,
    ...(user ? { jobOwner: { uid: user.uid, gid: user.gid } } : {}),
    check(): void {},
    // why: the sweep after each job kills every process of the job user, so it must be this worker's alone.
    ...(user ? { claim: () => claimJobUser(user) } : {}),
    async prepare(_runId: string, workRoot: string): Promise<string> {
      const dir = await fs.mkdtemp(join(workRoot, 'builder-'));
      await fs.chmod(dir, 0o700);
      if (user) await fs.chown(dir, user.uid, user.gid);
      return dir;
    },
    start(job: SandboxJob): SandboxProcess {
      const script = join(job.dir, job.script);
      const [cmd, args] = job.shebang ? [script, []] : ['/bin/sh', [script]];
      const child = spawn(cmd, args, {
        cwd: job.dir,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: jobEnv(env, user ? { name: job.name, home: job.dir, user: user.name } : { name: job.name, home: env.HOME ?? os.homedir() }),
        // libuv drops the supplementary groups (setgroups(0)) before switching.
        ...(user ? { uid: user.uid, gid: user.gid } : {}),
      });
      const pid = child.pid;
      return { child, kill: (sig) => pid !== undefined && killGroup(pid, sig) };
    },
    async settle(): Promise<void> {
      if (user) killAllOf(user);
    },
    async release(job: SandboxJob): Promise<void> {
      await fs.rm(job.dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}
