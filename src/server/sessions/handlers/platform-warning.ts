import { ALL_PLATFORMS } from '../../../spool/records.js';
import { templatePlatforms } from '../../core/jobs.js';
import type { ServerState } from '../../core/state.js';

/** Per server: the job names whose stored results were looked at, and the platforms they ran on; both only grow. */
const servedCache = new WeakMap<ServerState, { checked: Set<string>; platforms: Set<string> }>();

/** Platforms of stored results: one result read per job name, once; later runs add theirs on the next call. */
async function servedPlatforms(state: ServerState): Promise<Set<string>> {
  let cache = servedCache.get(state);
  if (!cache) {
    cache = { checked: new Set(), platforms: new Set() };
    servedCache.set(state, cache);
  }
  for (const [runId, name] of state.results) {
    if (cache.checked.has(name)) continue;
    cache.checked.add(name);
    const r = await state.spool.readResult(name, runId).catch(() => null);
    if (r) cache.platforms.add(r.job.platform);
  }
  for (const r of state.runs.values()) cache.platforms.add(r.record.job.platform);
  return cache.platforms;
}

/**
 * Why a job for `platform` may never run, for a success reply: a platform
 * that no worker has ever served and that has no template is most likely a
 * typo (`debain-12`). With `now` (execute), also a paused platform and one
 * with no worker connected. Empty when all is well.
 */
export async function platformWarnings(state: ServerState, platforms: string[], now = false): Promise<string[]> {
  const out: string[] = [];
  const connected = new Set([...state.workers.values()].map((w) => w.facts.platform));
  let templates: string[] | null = null;
  for (const p of new Set(platforms)) {
    if (p === ALL_PLATFORMS) continue;
    if (now && state.paused.has(p)) out.push(`${p} is paused: the job waits until builder-client resume ${p}`);
    if (connected.has(p)) continue;
    templates ??= await templatePlatforms(state, 'orb-build');
    if (!templates.includes(p) && !(await servedPlatforms(state)).has(p)) out.push(`${p}: no worker has served this platform (a typo? start a worker with builder-worker ${p})`);
    else if (now) out.push(`no ${p} worker is connected: the job waits for one`);
  }
  return out;
}
