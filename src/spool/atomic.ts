import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { syncDirShared } from './dir-sync.js';

/**
 * fsyncs a directory so that a rename into it (or out of it) survives a power
 * cut; callers around the same moment share one fsync (dir-sync.ts: group
 * commit), each resolving only after an fsync that began after its call.
 */
export function syncDir(dir: string): Promise<void> {
  return syncDirShared(dir);
}

let writeObserver: ((seconds: number) => void) | null = null;

/** Sets the one observer of completed atomic write durations (the server's spool write latency metric); null removes it. */
export function observeAtomicWrites(fn: ((seconds: number) => void) | null): void {
  writeObserver = fn;
}

/** Reports one atomic write done in steps (writeSynced, rename, fsync dir) that began at `started` (performance.now()). */
export function atomicWriteDone(started: number): void {
  writeObserver?.((performance.now() - started) / 1000);
}

/**
 * Writes `data` to `path` so that after a crash the file is wholly old or
 * wholly new: write into `tmpDir` (same file system), fsync, rename into
 * place, fsync the target directory. Rejects on any failure: a failed write
 * is never reported as success.
 */
export async function writeAtomic(tmpDir: string, path: string, data: string | Buffer): Promise<void> {
  const started = performance.now();
  await placeSynced(await writeSynced(tmpDir, data), path);
  atomicWriteDone(started);
}

/** Renames a synced temp file into place (removing it if the rename fails) and fsyncs the target directory. */
export async function placeSynced(tmp: string, path: string): Promise<void> {
  try {
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await syncDir(dirname(path));
}

/**
 * Writes `data` to a new file in `tmpDir` and fsyncs it; returns its path.
 * The first half of writeAtomic, for callers that overlap it with other
 * fsyncs and then rename it into place themselves (then fsync the directory).
 */
export async function writeSynced(tmpDir: string, data: string | Buffer): Promise<string> {
  const tmp = join(tmpDir, `${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = await fs.open(tmp, 'wx', 0o600);
  try {
    await fd.writeFile(data);
    await fd.sync();
  } catch (e) {
    await fd.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await fd.close();
  return tmp;
}

/** Renames and fsyncs both directories involved. */
export async function renameDurable(from: string, to: string): Promise<void> {
  await fs.rename(from, to);
  // A rename is atomic across a crash: the two fsyncs only make it durable
  // before the caller goes on, and need no order between them.
  if (dirname(from) !== dirname(to)) await Promise.all([syncDir(dirname(to)), syncDir(dirname(from))]);
  else await syncDir(dirname(to));
}

/** Pretty JSON with a trailing newline: what every spool record looks like on disk. */
export function recordText(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/**
 * Like writeAtomic, for a body too big to hold: the chunks are written one
 * by one into `tmpDir` (each awaited, so memory stays at one chunk), then
 * fsynced and renamed into place. A failure removes the temp file and rejects.
 */
export async function writeAtomicStream(tmpDir: string, path: string, chunks: AsyncIterable<Buffer>): Promise<void> {
  const tmp = join(tmpDir, `${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = await fs.open(tmp, 'wx', 0o600);
  try {
    try {
      for await (const chunk of chunks) await fd.write(chunk);
      await fd.sync();
    } finally {
      await fd.close();
    }
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await placeSynced(tmp, path);
}
