import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { Writable } from 'node:stream';

/** An artifact being written; `sha256()` is the hex digest of every byte written, read once the stream has finished. */
export type ArtifactWriter = Writable & { sha256(): string };

/** Bytes written between two background fdatasyncs of an artifact. */
const SYNC_EVERY = 256 << 20;

/**
 * A write stream into a new artifact file (created exclusively) that keeps
 * the disk busy while the bytes still arrive: every SYNC_EVERY bytes it
 * starts an fdatasync in the background (one at a time, never awaited by the
 * writes), so the fsync that must precede the run's result (Spool.finishRun)
 * finds little left to write instead of the whole file. Ending the stream
 * waits for that background sync and closes the file; an error of either
 * fails the stream. Every chunk is hashed (SHA-256) while its write is in
 * flight, so the digest costs no second read and overlaps the disk.
 */
export async function openArtifactFile(path: string, mode: number): Promise<ArtifactWriter> {
  const fd = await fs.open(path, 'wx', mode);
  const hash = createHash('sha256');
  let digest: string | null = null;
  let unsynced = 0;
  let syncing: Promise<void> | null = null;
  let syncError: Error | null = null;
  const startSync = () => {
    unsynced = 0;
    syncing = fd.datasync().then(
      () => void (syncing = null),
      (e: Error) => void ((syncError = e), (syncing = null)),
    );
  };
  const written = (n: number) => {
    unsynced += n;
    if (unsynced >= SYNC_EVERY && !syncing) startSync();
  };
  const stream = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      if (syncError) return cb(syncError);
      // why hash after starting the write: writev is queued to the thread pool first, so hashing on this thread overlaps it.
      const done = writeAll(fd, [chunk]);
      hash.update(chunk);
      done.then(() => (written(chunk.length), cb()), cb);
    },
    writev(chunks, cb) {
      if (syncError) return cb(syncError);
      const bufs = chunks.map((c) => c.chunk as Buffer);
      // why counted first: writeAll consumes `bufs` as it goes, so counting it afterwards gave 0 and no background sync ever started.
      const size = bufs.reduce((n, b) => n + b.length, 0);
      const done = writeAll(fd, bufs);
      // writeAll has handed the whole list to writev before it first awaits (and only then consumes it).
      for (const b of bufs) hash.update(b);
      done.then(() => (written(size), cb()), cb);
    },
    final(cb) {
      Promise.resolve(syncing)
        .then(() => fd.close())
        .then(() => cb(syncError), cb);
    },
    destroy(err, cb) {
      Promise.resolve(syncing)
        .then(() => fd.close())
        .then(
          () => cb(err),
          () => cb(err),
        );
    },
  });
  return Object.assign(stream, {
    sha256(): string {
      if (!stream.writableFinished) throw new Error(`sha256 of ${path} asked before the file was finished`);
      return (digest ??= hash.digest('hex'));
    },
  });
}

/** Writes every byte of `bufs` (a short write is continued). */
async function writeAll(fd: fs.FileHandle, bufs: Buffer[]): Promise<void> {
  while (bufs.length > 0) {
    let { bytesWritten } = await fd.writev(bufs);
    while (bufs.length > 0 && bytesWritten >= bufs[0]!.length) bytesWritten -= bufs.shift()!.length;
    if (bytesWritten > 0) bufs[0] = bufs[0]!.subarray(bytesWritten);
  }
}
