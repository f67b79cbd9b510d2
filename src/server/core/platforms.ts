import type { ServerState } from './state.js';

/** Persists a platform's operator state (dropped, paused) and mirrors it in memory. */
export async function setPlatform(state: ServerState, platform: string, change: { dropped?: boolean; paused?: boolean }): Promise<void> {
  const dropped = change.dropped ?? state.dropped.has(platform);
  const paused = change.paused ?? state.paused.has(platform);
  await state.spool.putPlatform({ version: 1, platform, dropped, paused });
  if (dropped) state.dropped.add(platform);
  else state.dropped.delete(platform);
  if (paused) state.paused.add(platform);
  else state.paused.delete(platform);
}

/** Platforms the server knows of: from workers, queues, the schedule and platform records. */
export function knownPlatforms(state: ServerState): Set<string> {
  return new Set([
    ...state.queues.platforms(),
    ...[...state.workers.values()].map((w) => w.facts.platform),
    ...[...state.schedule.values()].map((e) => e.platform).filter((p) => p !== '*'),
    ...state.dropped,
    ...state.paused,
  ]);
}
