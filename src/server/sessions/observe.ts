import type { Connection } from '../../protocol/connection.js';
import type { ServerState } from '../core/state.js';
import { followConsoleBlocks } from '../core/follow-console.js';
import { outputBlock } from '../core/output-lines.js';

/**
 * Streams a run's console to one observer, from line `from` on, then follows
 * it live until the run ends (see followConsole: read from the file, a slow
 * observer only slows itself). Returns false when no run has this id.
 */
export async function observeRun(state: ServerState, conn: Connection, runId: string, from: number): Promise<boolean> {
  const live = state.runs.get(runId);
  const name = state.results.get(runId);
  if (!live && !name) return false;
  const job = live ? live.record.job : (await state.spool.readResult(name!, runId))?.job;
  await conn.send({ type: 'observing', run_id: runId, name: job?.name ?? name ?? '', platform: job?.platform ?? '' });
  // If the run ended while the line above was sent, followConsole finds it among the results.
  // One write per console chunk: the observer's socket paces how fast the file is read.
  const end = await followConsoleBlocks(state, runId, from, (first, block, count) => conn.sendBytes(outputBlock(runId, first, block, count, from)));
  if (!end) return false;
  await conn.send({ type: 'run_end', run_id: runId, outcome: end.outcome });
  return true;
}
