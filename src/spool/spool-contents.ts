import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { parsePlatformRecord, parseQueueItem } from './parse.js';
import type { PlatformRecord } from './records.js';

/** The jobs and platform records a spool holds. */
export interface SpoolContents {
  exists: boolean;
  schedule: string[];
  queued: { platform: string; name: string }[];
  running: number;
  platforms: PlatformRecord[];
}

async function names(dir: string, opts: { dirs?: boolean } = {}): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    return entries.filter((e) => (opts.dirs ? e.isDirectory() : e.isFile() && e.name.endsWith('.json') && !e.name.startsWith('.'))).map((e) => e.name).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/**
 * Reads what a spool directory holds without creating, moving or changing
 * anything (unlike Spool.open, which sweeps and quarantines): for a look
 * before writing into it, e.g. an import that must not mix two schedules.
 * A record that does not parse still counts, by its file name.
 */
export async function readSpoolContents(dir: string): Promise<SpoolContents> {
  const exists = await fs.stat(dir).then((s) => s.isDirectory(), () => false);
  const out: SpoolContents = { exists, schedule: [], queued: [], running: 0, platforms: [] };
  if (!exists) return out;
  out.schedule = (await names(join(dir, 'schedule'))).map((f) => f.slice(0, -'.json'.length));
  for (const platform of await names(join(dir, 'queue'), { dirs: true })) {
    for (const f of await names(join(dir, 'queue', platform))) {
      const text = await fs.readFile(join(dir, 'queue', platform, f), 'utf8').catch(() => '');
      let name: string;
      try {
        name = parseQueueItem(text, f, platform).job.name;
      } catch {
        name = /^\d{16}-(.+)\.json$/.exec(f)?.[1] ?? f;
      }
      out.queued.push({ platform, name });
    }
  }
  out.running = (await names(join(dir, 'running'), { dirs: true })).length;
  for (const f of await names(join(dir, 'platforms'))) {
    try {
      out.platforms.push(parsePlatformRecord(await fs.readFile(join(dir, 'platforms', f), 'utf8'), f));
    } catch {
      // An unreadable platform record is the server's to quarantine at its start.
    }
  }
  return out;
}
