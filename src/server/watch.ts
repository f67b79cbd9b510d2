import { watch, type FSWatcher } from 'node:fs';
import { reason } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { dispatch } from './dispatch.js';
import { rescanQueue } from './load.js';
import { tick } from './scheduler.js';
import type { ServerState } from './state.js';

// Hand edits of the spool take effect while the server runs: the queue and
// schedule directories are watched (fs.watch, one per directory: cheap even
// with 100,000 queued files) and rescanned shortly after a change. Our own
// writes trigger rescans too; they are idempotent.

const DEBOUNCE_MS = 50;

/** Starts watching the spool; returns a function that stops it. */
export function watchSpool(state: ServerState): () => void {
  const watchers = new Map<string, FSWatcher>();
  const timers = new Map<string, NodeJS.Timeout>();
  const later = (key: string, fn: () => Promise<void>) => {
    if (timers.has(key)) return;
    timers.set(
      key,
      setTimeout(() => {
        timers.delete(key);
        fn().catch((e) => log('error', `spool watch: ${key}: ${reason(e)}`));
      }, DEBOUNCE_MS),
    );
  };
  const watchDir = (key: string, dir: string, onChange: () => Promise<void>) => {
    if (watchers.has(key)) return;
    try {
      const w = watch(dir, () => later(key, onChange));
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
    watchDir(`queue/${platform}`, state.spool.path('queue', platform), async () => {
      await rescanQueue(state, platform);
      await dispatch(state, platform);
    });
  const scanPlatforms = async () => {
    for (const p of await state.spool.queuePlatforms()) {
      if (!watchers.has(`queue/${p}`)) {
        watchQueue(p);
        await rescanQueue(state, p);
        await dispatch(state, p);
      }
    }
  };
  watchDir('queue', state.spool.path('queue'), scanPlatforms);
  void scanPlatforms();
  watchDir('schedule', state.spool.path('schedule'), async () => {
    await state.exclusive(async () => {
      const entries = await state.spool.listSchedule();
      const seen = new Set<string>();
      for (const e of entries) {
        seen.add(e.name);
        state.schedule.set(e.name, e);
      }
      for (const name of [...state.schedule.keys()]) if (!seen.has(name)) state.schedule.delete(name);
    });
    await tick(state);
  });
  return () => {
    for (const w of watchers.values()) w.close();
    for (const t of timers.values()) clearTimeout(t);
  };
}
