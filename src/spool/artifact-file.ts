import { promises as fs } from 'node:fs';
import { Writable } from 'node:stream';

/** Bytes written between two background fdatasyncs of an artifact. */
const SYNC_EVERY = 256 << 20;

/**
 * A write stream into a new artifact file (created exclusively) that keeps
 * the disk busy while the bytes still arrive: every SYNC_EVERY bytes it
 * starts an fdatasync in the background (one at a time, never awaited by the
 * writes), so the fsync that must precede the run's result (Spool.finishRun)
 * finds little left to write instead of the whole file. Ending the stream
 * waits for that background sync and closes the file; an error of either
 * fails the stream.
 */
export async function openArtifactFile(path: string, mode: number): Promise<Writable> {
  const fd = await fs.open(path, 'wx', mode);
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
  return new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      if (syncError) return cb(syncError);
      writeAll(fd, [chunk]).then(() => (written(chunk.length), cb()), cb);
    },
    writev(chunks, cb) {
      if (syncError) return cb(syncError);
      const bufs = chunks.map((c) => c.chunk as Buffer);
      writeAll(fd, bufs).then(() => (written(bufs.reduce((n, b) => n + b.length, 0)), cb()), cb);
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
}

/** Writes every byte of `bufs` (a short write is continued). */
async function writeAll(fd: fs.FileHandle, bufs: Buffer[]): Promise<void> {
  while (bufs.length > 0) {
    let { bytesWritten } = await fd.writev(bufs);
    while (bufs.length > 0 && bytesWritten >= bufs[0]!.length) bytesWritten -= bufs.shift()!.length;
    if (bytesWritten > 0) bufs[0] = bufs[0]!.subarray(bytesWritten);
  }
}
