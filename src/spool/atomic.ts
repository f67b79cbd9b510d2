import { closeSync, openSync, promises as fs, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsyncFd, syncDirShared } from './dir-sync.js';

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

/** This process's temp-file prefix: its pid (read once) and random bytes, so that no other process (a crashed one with the same pid) shares it. */
const TMP_PREFIX = `${process.pid}.${randomBytes(6).toString('hex')}`;
let tmpCount = 0;

/** A temp-file name no other write uses: the process prefix and a counter (why not random bytes per file: two syscalls per write on the claim's and store's path). */
function tmpName(): string {
  return `${TMP_PREFIX}.${(tmpCount++).toString(36)}.tmp`;
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
  // why sync: a rename on a local disk takes microseconds; a trip through the thread pool costs more (dir-sync.ts fsyncFd).
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  await syncDir(dirname(path));
}

/** Records up to this size are written on the main thread (a few syscalls); bigger ones go through the thread pool. */
const SMALL_WRITE = 64 * 1024;

/**
 * Writes `data` to a new file in `tmpDir` and fsyncs it; returns its path.
 * The first half of writeAtomic, for callers that overlap it with other
 * fsyncs and then rename it into place themselves (then fsync the directory).
 */
export async function writeSynced(tmpDir: string, data: string | Buffer): Promise<string> {
  const tmp = join(tmpDir, tmpName());
  if (data.length <= SMALL_WRITE) {
    // A small record: open and write here, fsync on the thread pool (the one step that waits for the disk).
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeFileSync(fd, data);
      await fsyncFd(fd);
    } catch (e) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw e;
    }
    closeSync(fd);
    return tmp;
  }
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
  const tmp = join(tmpDir, tmpName());
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
