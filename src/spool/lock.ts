import { execFileSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BuilderError, reason } from '../shared/errors.js';

// One server per spool. Node has no flock/fcntl, so the lock is a file,
// SPOOL/lock, holding the holder's pid and that process's start time as the
// OS reports it (Linux: /proc/<pid>/stat field 22; elsewhere `ps -o lstart=`).
// It is created atomically (written beside it, then link(2)ed into place,
// which fails if a lock exists). A lock whose pid is gone, or whose pid now
// belongs to a process that started at another time (pid reuse after a
// reboot or a SIGKILL), is stale and taken over: a SIGKILLed server never
// blocks a restart. Taking over renames the stale file aside and checks that
// what it moved is what it judged stale, so two servers starting at once
// after a crash cannot both win. The record also names the spool directory
// it was taken for (device and inode): a lock copied along with the spool
// (a backup restored elsewhere while the original server still runs) names
// another directory and is stale here.

/** What a lock file holds. */
interface LockRecord {
  version: 1;
  pid: number;
  /** The holder's start time as the OS reports it (null where it cannot be read). */
  start: string | null;
  /** `DEV:INODE` of the spool directory the lock was taken for (absent in locks of earlier versions). */
  spool?: string;
}

/** A held spool lock; `release` removes it (only if it is still ours). */
export interface SpoolLock {
  path: string;
  release(): Promise<void>;
}

/** The start time of a process as the OS reports it, or null when unknown or gone. */
export function processStart(pid: number): string | null {
  try {
    if (process.platform === 'linux') {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Field 2 (comm) may hold spaces and parentheses: count fields after its closing one.
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
    }
    const out = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return out === '' ? null : out;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the process a lock record names still runs (same pid, same start time) and holds this spool (`spoolId`). */
function holds(r: LockRecord, spoolId: string): boolean {
  if (r.pid === process.pid) return false; // a lock with our own pid is from an earlier life of it
  if (r.spool !== undefined && r.spool !== spoolId) return false; // copied here with the files
  if (!alive(r.pid)) return false;
  const now = processStart(r.pid);
  return r.start === null || now === null || now === r.start;
}

function parseLock(text: string): LockRecord | null {
  try {
    const o = JSON.parse(text) as Partial<LockRecord>;
    if (typeof o.pid !== 'number' || !Number.isInteger(o.pid) || o.pid <= 0) return null;
    return { version: 1, pid: o.pid, start: typeof o.start === 'string' ? o.start : null, ...(typeof o.spool === 'string' ? { spool: o.spool } : {}) };
  } catch {
    return null;
  }
}

function inUse(dir: string, pid: number): BuilderError {
  return new BuilderError('spool_locked', `spool ${dir} is in use by another builder-server (pid ${pid}): stop it, or give this one another --dir`);
}

/**
 * Takes the lock of the spool at `dir` (which must exist) or throws a
 * BuilderError('spool_locked') naming the live holder's pid. Call it before
 * anything else in the spool is read or written.
 */
export async function lockSpool(dir: string): Promise<SpoolLock> {
  const path = join(dir, 'lock');
  const st = await fs.stat(dir);
  const spoolId = `${st.dev}:${st.ino}`;
  const mine: LockRecord = { version: 1, pid: process.pid, start: processStart(process.pid), spool: spoolId };
  const text = JSON.stringify(mine) + '\n';
  const tmp = join(dir, `.lock.${process.pid}.tmp`);
  await fs.writeFile(tmp, text, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await fs.link(tmp, path);
        return {
          path,
          async release() {
            const now = await fs.readFile(path, 'utf8').catch(() => null);
            if (now === text) await fs.unlink(path).catch(() => undefined);
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new BuilderError('spool_lock', `cannot lock spool ${dir}: ${reason(e)}`, { cause: e });
      }
      const held = await fs.readFile(path, 'utf8').catch(() => null);
      if (held === null) continue; // released meanwhile
      const r = parseLock(held);
      if (r && holds(r, spoolId)) throw inUse(dir, r.pid);
      // Stale (or unreadable): move it aside, and make sure it is the one we judged.
      const aside = join(dir, `.lock.stale.${process.pid}`);
      try {
        await fs.rename(path, aside);
      } catch {
        continue;
      }
      const moved = await fs.readFile(aside, 'utf8').catch(() => null);
      if (moved !== held) {
        // Another server took the lock between our read and our rename: give it back.
        await fs.link(aside, path).catch(() => undefined);
        await fs.unlink(aside).catch(() => undefined);
        const other = parseLock(moved ?? '');
        throw inUse(dir, other?.pid ?? 0);
      }
      await fs.unlink(aside).catch(() => undefined);
    }
    throw new BuilderError('spool_locked', `cannot lock spool ${dir}: another builder-server keeps taking it (is one starting right now?)`);
  } finally {
    await fs.unlink(tmp).catch(() => undefined);
  }
}
