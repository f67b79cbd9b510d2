import { watch, type FSWatcher } from 'node:fs';
import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { recordText } from '../../spool/atomic.js';
import { dispatch } from './dispatch.js';
import { queuePlatforms, recheckQueued, rescanQueue } from './queue.js';
import { isReserved } from './schedule-reservations.js';
import { tick } from './scheduler.js';
import type { ServerState } from './state.js';

// Hand edits of the spool take effect while the server runs: the queue and
// schedule directories are watched (fs.watch, one per directory: cheap even
// with 100,000 queued files). A change re-reads only the files fs.watch
// named (a whole directory is listed again only when it names none, or too
// many at once), so our own writes, which trigger events too, cost one small
// read each instead of a listing of the whole directory.

const DEBOUNCE_MS = 50;
/** More changed names than this in one debounce period: list the directory instead. */
const MAX_NAMED = 1000;

/**
 * Starts watching the spool; returns a function that stops it. Start it
 * before loadState reads the directories (so no edit falls between the
 * read and the watch); changes are handled once `loaded` resolves.
 */
export function watchSpool(state: ServerState, loaded: Promise<void> = Promise.resolve()): () => void {
  const watchers = new Map<string, FSWatcher>();
  const pending = new Map<string, { names: Set<string>; all: boolean; timer: NodeJS.Timeout }>();
  const later = (key: string, name: string | null, fn: (names: string[] | null) => Promise<void>) => {
    let p = pending.get(key);
    if (!p) {
      const entry = {
        names: new Set<string>(),
        all: false,
        timer: setTimeout(() => {
          pending.delete(key);
          // schedule/ is re-read by name however many changed: a listing reads every entry (100,000 after a big batch).
          const names = entry.all || (entry.names.size > MAX_NAMED && key !== 'schedule') ? null : [...entry.names];
          loaded.then(() => fn(names)).catch((e) => log('error', `spool watch: ${key}: ${reason(e)}`));
        }, DEBOUNCE_MS),
      };
      pending.set(key, (p = entry));
    }
    if (name === null) p.all = true;
    else p.names.add(name);
  };
  // A hand edit that did not parse while fresh (spool.ts readRecord) is read again once it has been quiet.
  const handlers = new Map<string, (names: string[] | null) => Promise<void>>();
  const rereads = new Set<NodeJS.Timeout>();
  state.spool.onSettling = (rel, afterMs) => {
    const at = rel.lastIndexOf('/');
    const key = rel.slice(0, at);
    const fn = handlers.get(key);
    if (!fn) return;
    const t = setTimeout(() => {
      rereads.delete(t);
      later(key, rel.slice(at + 1), fn);
    }, afterMs + 20);
    rereads.add(t);
  };
  const watchDir = (key: string, dir: string, onChange: (names: string[] | null) => Promise<void>) => {
    if (watchers.has(key)) return;
    handlers.set(key, onChange);
    try {
      const w = watch(dir, (_event, name) => later(key, name ? String(name) : null, onChange));
      w.on('error', () => {
        w.close();
        watchers.delete(key);
      });
      watchers.set(key, w);
    } catch (e) {
      log('warn', `cannot watch ${dir}: ${reason(e)} (hand edits there need a restart)`);
    }
  };
  const watchQueue = (platform: string) =>
    watchDir(`queue/${platform}`, state.spool.path('queue', platform), async (names) => {
      if (names) await recheckQueued(state, platform, names);
      else await rescanQueue(state, platform);
      await dispatch(state, platform);
    });
  // `rescan`: false at start, when loadState lists every queue right after.
  const scanPlatforms = async (rescan: boolean) => {
    for (const p of await queuePlatforms(state)) {
      if (!watchers.has(`queue/${p}`)) {
        watchQueue(p);
        if (!rescan) continue;
        await rescanQueue(state, p);
        await dispatch(state, p);
      }
    }
  };
  watchDir('queue', state.spool.path('queue'), () => scanPlatforms(true));
  const first = scanPlatforms(false).catch((e) => log('error', `spool watch: queue: ${reason(e)}`));
  // A queue directory created between that listing and loadState's is watched once loaded.
  void first.then(() => loaded).then(() => scanPlatforms(true)).catch(() => undefined);
  watchDir('schedule', state.spool.path('schedule'), async (names) => {
    const changed = await state.exclusive(() => (names ? recheckSchedule(state, names) : rescanSchedule(state)));
    if (changed) await tick(state);
  });
  return () => {
    state.spool.onSettling = null;
    for (const w of watchers.values()) w.close();
    for (const p of pending.values()) clearTimeout(p.timer);
    for (const t of rereads) clearTimeout(t);
  };
}

/** Lists schedule/ again and makes the in-memory schedule match it. */
async function rescanSchedule(state: ServerState): Promise<boolean> {
  const entries = await state.spool.listSchedule();
  const seen = new Set<string>();
  for (const e of entries) {
    seen.add(e.name);
    if (!isReserved(state, e.name)) state.schedule.set(e.name, e);
  }
  for (const name of [...state.schedule.keys()]) if (!seen.has(name) && !state.spool.settling(`schedule/${name}.json`)) state.schedule.delete(name);
  return true;
}

/** Re-reads the named schedule files; true when the in-memory schedule changed (our own writes change nothing). */
async function recheckSchedule(state: ServerState, files: string[]): Promise<boolean> {
  let changed = false;
  for (const f of files) {
    if (!f.endsWith('.json') || f.startsWith('.')) continue;
    const name = f.slice(0, -5);
    // A batch being committed puts its own entries in memory once they are all in place.
    if (isReserved(state, name)) continue;
    const e = await state.spool.readSchedule(name);
    const had = state.schedule.get(name);
    if (!e) {
      // Half-written by hand: keep what we had until it settles.
      if (had && !state.spool.settling(`schedule/${f}`)) {
        state.schedule.delete(name);
        changed = true;
      }
    } else if (!had || recordText(had) !== recordText(e)) {
      state.schedule.set(name, e);
      changed = true;
    }
  }
  return changed;
}
