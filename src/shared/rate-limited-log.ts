import { log, type Level } from './log.js';

/** How often a repeated message of one key is logged at most. */
const EVERY_MS = 10_000;

const seen = new Map<string, { next: number; suppressed: number }>();

/**
 * Logs a message that a peer can repeat at will (a worker reporting on runs
 * it does not own) at most once per EVERY_MS per `key`: the first at once,
 * later ones with how many were left out since. Memory: one small entry per
 * key, removed once its period has passed quietly.
 */
export function logLimited(key: string, level: Level, message: string, runId?: string): void {
  const now = Date.now();
  const s = seen.get(key);
  if (s && now < s.next) {
    s.suppressed++;
    return;
  }
  const more = s && s.suppressed > 0 ? ` (and ${s.suppressed} more like it in the last ${Math.round((now - s.next + EVERY_MS) / 1000)} s)` : '';
  log(level, message + more, runId);
  seen.set(key, { next: now + EVERY_MS, suppressed: 0 });
  if (seen.size > 10_000) for (const [k, v] of seen) if (v.next < now) seen.delete(k);
}
