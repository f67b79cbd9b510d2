import { promises as fs } from 'node:fs';
import type { Connection } from '../protocol/connection.js';
import type { Outcome } from '../protocol/types.js';
import type { ConsoleLine } from '../spool/records.js';
import type { ServerState } from './state.js';

const CHUNK = 64 * 1024;

/**
 * Streams a run's console to one observer, from line `from` on, then follows
 * it live until the run ends. It reads the console file, never a shared
 * memory buffer, and waits for the observer's socket to drain: a slow
 * observer only slows itself, and never loses a line.
 * Returns false when no run has this id.
 */
export async function observeRun(state: ServerState, conn: Connection, runId: string, from: number): Promise<boolean> {
  const live = state.runs.get(runId);
  const name = live ? null : state.results.get(runId);
  if (!live && !name) return false;
  let ended = !live || live.done;
  let outcome: Outcome | null = null;
  let wake: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const onStored = (o: Outcome) => {
    outcome = o;
    ended = true;
    poke();
  };
  // Listen before the first await, so that a run ending meanwhile is not missed.
  live?.console.on('grew', poke);
  live?.console.on('stored', onStored);
  // A run that ends moves from running/ to results/: look for its console in both.
  const consolePath = () => {
    const stored = state.results.get(runId);
    return stored ? state.spool.path('results', stored, runId, 'console.ndjson') : state.spool.consolePath(runId);
  };
  try {
    const job = live ? live.record.job : (await state.spool.readResult(name!, runId))?.job;
    await conn.send({ type: 'observing', run_id: runId, name: job?.name ?? name!, platform: job?.platform ?? '' });
    let fd: fs.FileHandle | null = null;
    let pos = 0;
    let n = 0;
    let carry = '';
    // Once open, the handle keeps reading the same file after the rename.
    for (;;) {
      const endedBeforeRead = ended;
      if (!fd) fd = await fs.open(consolePath(), 'r').catch(() => null);
      let got = 0;
      if (fd) {
        const buf = Buffer.alloc(CHUNK);
        const { bytesRead } = await fd.read(buf, 0, CHUNK, pos);
        got = bytesRead;
        pos += bytesRead;
        const text = carry + buf.toString('utf8', 0, bytesRead);
        const lines = text.split('\n');
        carry = lines.pop()!;
        for (const l of lines) {
          if (l === '') continue;
          if (n >= from) {
            const c = JSON.parse(l) as ConsoleLine;
            await conn.send({ type: 'output', run_id: runId, n, t: c.t, line: c.line });
          }
          n++;
        }
      }
      if (got > 0) continue;
      if (endedBeforeRead) break;
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 1000).unref();
      });
    }
    await fd?.close();
    const stored = state.results.get(runId);
    if (!outcome && stored) outcome = (await state.spool.readResult(stored, runId))?.outcome ?? null;
    await conn.send({ type: 'run_end', run_id: runId, outcome });
    return true;
  } finally {
    live?.console.off('grew', poke);
    live?.console.off('stored', onStored);
  }
}
