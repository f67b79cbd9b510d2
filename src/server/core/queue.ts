import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { Job } from '../../protocol/types.js';
import type { GroupTag, QueueItem, RunRecord } from '../../spool/records.js';
import type { Queued } from './queue-mirror.js';
import type { ServerState } from './state.js';

// The queue module: the only user of the spool's queue operations (put,
// remove, claim, list, read) and the only code that knows what a queue file
// name means. A name of ours is `<order>-<job name>.json`, the order being 16
// digits: microseconds since the epoch at the back, one less than the head in
// front; build i of a verify group is `<order>-<job name>@<group id>.<i>.json`
// (`@` is no name character), so the builds sharing a job name stay apart.
// Names of hand-dropped files mean nothing: their record says.

const OURS = /^(\d{16})-([^@]+?)(?:@([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(\d+))?\.json$/;

/** The order key, job name and verify group member of a queue file name of ours, or null (a hand-dropped file). */
export function parseQueueFile(file: string): { key: number; name: string; group?: { id: string; index: number } } | null {
  const m = OURS.exec(file);
  if (!m) return null;
  return { key: Number(m[1]), name: m[2]!, ...(m[3] ? { group: { id: m[3], index: Number(m[4]) } } : {}) };
}

/** The queue file name of a job with order key `key` (of one build of a verify group with `group`). */
export function queueFileName(key: number, name: string, group?: { id: string; index: number }): string {
  return `${String(key).padStart(16, '0')}-${name}${group ? `@${group.id}.${group.index}` : ''}.json`;
}

let lastKey = 0;

/** The order key of a job put at the back (now, strictly increasing) or in front of `head`. */
function nextKey(front: boolean, head: string | undefined): number {
  if (front && head !== undefined) {
    const h = parseQueueFile(head);
    return h ? Math.max(0, h.key - 1) : 0;
  }
  return (lastKey = Math.max(Date.now() * 1000, lastKey + 1));
}

/**
 * Puts a job on its platform's queue unless it already waits there or is
 * being claimed (a job is never queued twice). `front` is for run-now and
 * for requeued runs. One build of a verify group (`group`) is never queued
 * twice either, beside the group's other builds. Returns false when it was
 * already queued.
 */
export function enqueueJob(state: ServerState, job: Job, opts: { front: boolean; retries?: number; group?: GroupTag }): Promise<boolean> {
  return state.exclusive(async () => {
    const g = opts.group;
    const queued = g ? state.queues.hasMember(job.platform, g.id, g.index) : state.queues.has(job.platform, job.name) || state.queues.isClaiming(job.platform, job.name);
    if (queued) return false;
    const item: QueueItem = { version: 1, job, queued: new Date().toISOString(), retries: opts.retries ?? 0, ...(g ? { group: g } : {}) };
    const file = queueFileName(nextKey(opts.front, state.queues.list(job.platform)[0]?.file), job.name, g);
    await state.spool.putQueued(file, item);
    state.queues.add(job.platform, { file, name: job.name, queued: item.queued, retries: item.retries, ...(g ? { group: { id: g.id, index: g.index } } : {}) });
    return true;
  });
}

/** Removes a job from a platform's queue; false when it was not queued. */
export function unqueueJob(state: ServerState, platform: string, name: string): Promise<boolean> {
  return state.exclusive(async () => {
    const q = state.queues.list(platform).find((e) => e.name === name);
    if (!q) return false;
    state.queues.remove(platform, q.file);
    await state.spool.removeQueued(platform, q.file);
    return true;
  });
}

/** Removes the queued builds of verify groups of job `name` from a platform's queue; returns them. */
export function unqueueBuilds(state: ServerState, platform: string, name: string): Promise<Queued[]> {
  return state.exclusive(async () => {
    const builds = state.queues.list(platform).filter((q) => q.name === name && q.group);
    for (const q of builds) {
      state.queues.remove(platform, q.file);
      await state.spool.removeQueued(platform, q.file);
    }
    return builds;
  });
}

/** Takes the head of a platform's queue (or the given entry of it) for a claim (call under `exclusive`); `claimHead` ends it. */
export function takeHead(state: ServerState, platform: string, entry?: Queued): Queued | null {
  const head = entry ?? state.queues.list(platform)[0];
  if (!head) return null;
  state.queues.remove(platform, head.file);
  state.queues.setClaiming(platform, head.name, true);
  return head;
}

/**
 * Claims a taken head: renames its file into running/<run-id>/ and writes the
 * run record that `record` builds from the queued item. Null when the file
 * was gone (removed by hand meanwhile). When the claim fails, the spool has
 * put the file back (or left it for the next start), and so does the mirror.
 */
export async function claimHead(state: ServerState, platform: string, head: Queued, record: (item: QueueItem, runId: string) => RunRecord): Promise<RunRecord | null> {
  const runId = randomUUID();
  try {
    return await state.spool.claim(platform, head.file, (item) => record(item, runId));
  } catch (e) {
    // Only a file that is really back in the queue goes back into the mirror: no phantom.
    const back = await state.spool.readQueued(platform, head.file).catch(() => null);
    if (back) state.queues.add(platform, { ...head, name: back.job.name, queued: back.queued, retries: back.retries });
    throw e;
  } finally {
    state.queues.setClaiming(platform, head.name, false);
  }
}

/** Resolves the job name of a queue file (from its name when ours, else from its record); null when gone or unreadable. */
async function queuedOf(state: ServerState, platform: string, file: string): Promise<Queued | null> {
  const ours = parseQueueFile(file);
  if (ours) return { file, name: ours.name, ...(ours.group ? { group: ours.group } : {}) };
  const item = await state.spool.readQueued(platform, file);
  return item ? { file, name: item.job.name, queued: item.queued, retries: item.retries, ...(item.group ? { group: { id: item.group.id, index: item.group.index } } : {}) } : null;
}

/** Platforms that have a queue directory. */
export function queuePlatforms(state: ServerState): Promise<string[]> {
  return state.spool.queuePlatforms();
}

/** Makes the in-memory queue of a platform match its directory (after a hand edit or at start). */
export function rescanQueue(state: ServerState, platform: string): Promise<void> {
  return state.exclusive(async () => {
    const files = await state.spool.queueFiles(platform);
    const { added } = state.queues.reconcile(platform, files);
    for (const file of added) {
      const q = await queuedOf(state, platform, file);
      if (q) state.queues.add(platform, q);
    }
  });
}

/** Makes the in-memory queue of a platform match the named files of its directory (fs.watch named them). */
export function recheckQueued(state: ServerState, platform: string, files: string[]): Promise<void> {
  return state.exclusive(async () => {
    for (const file of files) {
      if (!file.endsWith('.json') || file.startsWith('.')) continue;
      // why access, not read: our own writes trigger events too, and need no parse.
      const there = await fs.access(state.spool.path('queue', platform, file)).then(
        () => true,
        () => false,
      );
      if (!there) state.queues.remove(platform, file);
      else if (!state.queues.hasFile(platform, file)) {
        const q = await queuedOf(state, platform, file);
        if (q) state.queues.add(platform, q);
      }
    }
  });
}

/**
 * The first `limit` jobs of a platform's queue (0: all) with their queue time
 * and retries; those not known yet are read from their files once.
 */
export async function queueDetails(state: ServerState, platform: string, limit: number): Promise<{ name: string; queued: string; retries: number }[]> {
  const list = state.queues.list(platform);
  const shown = limit > 0 && list.length > limit ? list.slice(0, limit) : list;
  const out = [];
  for (const q of shown) {
    if (q.queued === undefined || q.retries === undefined) {
      const item = await state.spool.readQueued(platform, q.file).catch(() => null);
      q.queued = item?.queued ?? '';
      q.retries = item?.retries ?? 0;
    }
    out.push({ name: q.name, queued: q.queued, retries: q.retries });
  }
  return out;
}
