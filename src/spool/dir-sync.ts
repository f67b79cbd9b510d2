import { promises as fs } from 'node:fs';

// Group commit of directory fsyncs: every caller of `syncDirShared` has just
// made a change in the directory (a rename into it, a rename out, an unlink,
// a mkdir) and needs that change durable before it goes on. One fsync of the
// directory makes durable every change made in it before the fsync began, so
// callers whose change came before the same fsync may share it:
//
//   - a caller joins the directory's next fsync while that one has not begun
//     (callers of one event-loop turn, and those that come while the previous
//     fsync of the same directory is still in flight);
//   - an fsync begins only after the previous one of its directory ended,
//     and after one event-loop turn, so the callers of that turn join it;
//   - a caller that comes once an fsync has begun never counts on it (its
//     change may be later than the fsync): it gets the next one.
//
// Every caller's promise resolves only after an fsync that began after its
// change has returned, and rejects when that fsync fails: nothing is
// reported durable that was not.

interface Group {
  done: Promise<void>;
}

/** The next fsync of each directory, not begun yet: callers join it. */
const next = new Map<string, Group>();
/** The fsync of each directory now in flight: the next one begins after it. */
const inFlight = new Map<string, Promise<void>>();

let fsyncs = 0;

/** How many directory fsyncs were made (for tests of the grouping). */
export function dirSyncCount(): number {
  return fsyncs;
}

async function fsyncDir(dir: string): Promise<void> {
  const fd = await fs.open(dir, 'r');
  try {
    fsyncs++;
    await fd.sync();
  } finally {
    await fd.close();
  }
}

/** Makes the caller's earlier changes in `dir` durable, sharing one fsync with the callers around it (see the top). */
export function syncDirShared(dir: string): Promise<void> {
  const queued = next.get(dir);
  if (queued) return queued.done;
  const before = inFlight.get(dir);
  const group = {} as Group;
  group.done = (async () => {
    await before?.catch(() => undefined);
    await new Promise<void>((r) => setImmediate(r));
    // From here on the fsync has begun for the callers who joined: later ones wait for the next.
    next.delete(dir);
    const p = fsyncDir(dir);
    inFlight.set(dir, p);
    try {
      await p;
    } finally {
      if (inFlight.get(dir) === p) inFlight.delete(dir);
    }
  })();
  next.set(dir, group);
  return group.done;
}
