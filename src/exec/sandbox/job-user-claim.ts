import { createConnection, createServer, type Server } from 'node:net';
import { BuilderError } from '../../shared/errors.js';
import type { JobUser } from './job-user.js';

// One worker per job user on a host. After each job a `none` worker kills
// every process of its job user (what the job left running outside its
// process group), so two workers sharing a job user would kill each other's
// running jobs. The claim is a Linux abstract unix socket named after the
// uid: no file to go stale, released by the kernel when the worker dies, and
// seen by every worker of the host whatever its mount namespace (systemd's
// PrivateTmp, ProtectSystem). The holder answers a connection with its pid,
// so the refusal names it. Elsewhere (FreeBSD: jobs run in jails there) no
// claim is taken.

function socketName(uid: number): string {
  return `\0builder-job-user-${uid}`;
}

/** The pid the holder of `name` answers with, or null when it does not answer within a second. */
function holderPid(name: string): Promise<number | null> {
  return new Promise((resolve) => {
    let text = '';
    const c = createConnection({ path: name });
    const t = setTimeout(() => (c.destroy(), resolve(null)), 1000);
    c.setEncoding('utf8');
    c.on('data', (d) => (text += d));
    c.on('error', () => (clearTimeout(t), resolve(null)));
    c.on('close', () => {
      clearTimeout(t);
      const pid = Number(text.trim());
      resolve(Number.isInteger(pid) && pid > 0 ? pid : null);
    });
  });
}

/**
 * Claims `user` for this worker for as long as it runs, or rejects with a
 * usage error (exit 124) naming the worker that holds it. Resolves at once,
 * claiming nothing, where abstract sockets do not exist.
 */
export async function claimJobUser(user: JobUser): Promise<void> {
  if (process.platform !== 'linux') return;
  const name = socketName(user.uid);
  const server: Server = createServer((c) => c.end(`${process.pid}\n`));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: name }, () => resolve());
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw new BuilderError('usage', `--job-user ${user.name}: cannot claim it for this worker: ${(e as Error).message}`);
    const pid = await holderPid(name);
    throw new BuilderError(
      'usage',
      `--job-user ${user.name} (uid ${user.uid}) is used by another builder-worker on this host${pid ? ` (pid ${pid})` : ''}; each worker kills its job user's leftover processes after a job, so give every worker its own --job-user`,
    );
  }
  // why unref: the claim must not keep a worker alive that has nothing else to do.
  server.unref();
}
