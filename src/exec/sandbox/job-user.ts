import { spawnSync } from 'node:child_process';
import { BuilderError } from '../../shared/errors.js';

// The unprivileged user a root worker runs `none` jobs as (--job-user).

/** A resolved job user. */
export interface JobUser {
  name: string;
  uid: number;
  gid: number;
}

/** The user the package creates for jobs; `nobody` is the fallback. */
export const DEDICATED_JOB_USER = 'builder-job';

function idOf(flag: '-u' | '-g', user: string): number | null {
  // id(1) asks NSS, so users from LDAP and the like resolve too; it exists on Linux and FreeBSD.
  const r = spawnSync('id', [flag, user], { encoding: 'utf8', timeout: 10_000 });
  const n = Number(r.stdout?.trim());
  return r.status === 0 && Number.isInteger(n) && n >= 0 ? n : null;
}

/**
 * Resolves --job-user (a name, or UID[:GID]), or the default: `builder-job`
 * when it exists, else `nobody`. Root (uid 0) only when named explicitly:
 * then null (no switch), for a worker that itself runs in a throw-away
 * sandbox and whose jobs need root (apt install).
 */
export function resolveJobUser(given: string | undefined): JobUser | null {
  // UID[:GID] needs no passwd entry (a container or host without one for jobs).
  const numeric = given === undefined ? null : /^(\d+)(?::(\d+))?$/.exec(given);
  if (numeric) {
    const uid = Number(numeric[1]);
    const gid = Number(numeric[2] ?? numeric[1]);
    if (uid === 0) return null;
    if (gid === 0 || uid > 0x7fffffff || gid > 0x7fffffff) throw new BuilderError('usage', `--job-user ${given}: give an unprivileged UID[:GID] (not 0, below 2^31)`);
    return { name: String(uid), uid, gid };
  }
  const name = given ?? (idOf('-u', DEDICATED_JOB_USER) !== null ? DEDICATED_JOB_USER : 'nobody');
  const uid = idOf('-u', name);
  const gid = idOf('-g', name);
  if (uid === null || gid === null)
    throw new BuilderError('usage', `--job-user ${name}: no such user (create one, e.g. useradd --system --no-create-home ${DEDICATED_JOB_USER}, or give --job-user USER)`);
  if (uid === 0 && given !== undefined) return null;
  if (uid === 0 || gid === 0) throw new BuilderError('usage', `--job-user ${name} has uid or gid 0: give an unprivileged user (or --job-user root to run jobs as root inside a throw-away sandbox)`);
  return { name, uid, gid };
}

/**
 * Kills every process of `uid` (a job's daemons that left its process group):
 * kill(-1) from a process running as that uid reaches exactly that uid's
 * processes, except the sender. Three passes, as a forking process may race
 * one; all three from one shell (its `kill` is a builtin), since a spawn
 * from the worker costs a few ms and this runs after every job. Never throws.
 */
export function killAllOf(user: JobUser): void {
  spawnSync('/bin/sh', ['-c', 'kill -KILL -1 2>/dev/null; kill -KILL -1 2>/dev/null; kill -KILL -1 2>/dev/null; exit 0'], { uid: user.uid, gid: user.gid, env: { PATH: '/usr/bin:/bin' }, stdio: 'ignore', timeout: 10_000 });
}
