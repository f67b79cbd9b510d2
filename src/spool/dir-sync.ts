import { closeSync, fsync, openSync } from 'node:fs';

// Group commit of directory fsyncs: every caller of `syncDirShared` has just
// made a change in the directory (a rename into it, a rename out, an unlink,
// a mkdir) and needs that change durable before it goes on. One fsync of the
// directory makes durable every change made in it before the fsync began, so
// callers whose change came before the same fsync may share it:
//
//   - an fsync begins one event-loop turn after its first caller, and the
//     callers of that turn (the renames of several claims and stores that
//     happen together) join it;
//   - a caller that comes once an fsync has begun never counts on it (its
//     change may be later than the fsync): it starts the next one at once,
//     beside the one in flight (waiting for it first would only add to the
//     latency, which is what the spool's throughput is made of).
//
// Every caller's promise resolves only after an fsync that began after its
// change has returned, and rejects when that fsync fails: nothing is
// reported durable that was not.

interface Group {
  done: Promise<void>;
}

/** The next fsync of each directory, not begun yet: callers join it. */
const next = new Map<string, Group>();

let fsyncs = 0;

/** How many directory fsyncs were made (for tests of the grouping). */
export function dirSyncCount(): number {
  return fsyncs;
}

/**
 * fsyncs an open file descriptor on the thread pool. The open and close
 * around it are done on the main thread by the callers: on a local disk they
 * take microseconds, while each trip through the thread pool costs a
 * scheduling round (milliseconds on a loaded host), and the fsync is the one
 * step that waits for the disk.
 */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve())));
}

async function fsyncDir(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    fsyncs++;
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes the caller's earlier changes in `dir` durable, sharing one fsync with the callers around it (see the top). */
export function syncDirShared(dir: string): Promise<void> {
  const queued = next.get(dir);
  if (queued) return queued.done;
  const group = {} as Group;
  group.done = (async () => {
    await new Promise<void>((r) => setImmediate(r));
    // From here on the fsync has begun for the callers who joined: later ones start the next.
    next.delete(dir);
    await fsyncDir(dir);
  })();
  next.set(dir, group);
  return group.done;
}
