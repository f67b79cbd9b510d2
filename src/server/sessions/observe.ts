import type { Connection } from '../../protocol/connection.js';
import type { ServerState } from '../core/state.js';
import { followConsoleBlocks } from '../core/follow-console.js';
import type { PrintFormat } from '../core/output-lines.js';
import { log } from '../../shared/log.js';

/** Whether a write drained within `ms`; rejects when it failed (the connection is gone). */
function sentWithin(sent: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(false), ms);
    sent.then(
      () => (clearTimeout(timer), resolve(true)),
      (e: unknown) => (clearTimeout(timer), reject(e)),
    );
  });
}

/**
 * Streams a run's console to one observer, from line `from` on, then follows
 * it live until the run ends (see followConsole: read from the file, a slow
 * observer only slows itself). `print`: the observer asked for printed
 * blocks (`output_block` frames, see messages.ts) in this format instead of
 * an `output` message per line. Returns false when no run has this id.
 */
export async function observeRun(state: ServerState, conn: Connection, runId: string, from: number, print?: PrintFormat): Promise<boolean> {
  const live = state.runs.get(runId);
  const name = state.results.get(runId);
  if (!live && !name) return false;
  const job = live ? live.record.job : (await state.spool.readResult(name!, runId))?.job;
  // A client that asks for printed blocks (this version) also takes heartbeats: see `beat` below.
  const hb = state.config.heartbeatMs;
  await conn.send({ type: 'observing', run_id: runId, name: job?.name ?? name ?? '', platform: job?.platform ?? '', ...(print ? { heartbeat_ms: hb } : {}) });
  // If the run ended while the line above was sent, followConsole finds it among the results.
  // One write per console chunk: the observer's socket paces how fast the file is read.
  const idleMs = state.config.limits.clientIdleMs;
  let stalledAt: number | null = null;
  const abort = new AbortController();
  // A quiet run (a long compile) sends nothing for minutes: a heartbeat after each silent period tells the
  // observer the server is alive, so that it can give up on one that froze. None while a block is on its way.
  let sending = false;
  let lastSent = Date.now();
  const beat = print
    ? setInterval(() => {
        if (sending || Date.now() - lastSent < hb) return;
        lastSent = Date.now();
        conn.send({ type: 'heartbeat' }).catch(() => undefined);
      }, hb)
    : null;
  let end;
  try {
    end = await followConsoleBlocks(
      state,
      runId,
      from,
      async (block) => {
        // A block the observer leaves unread for --client-idle-timeout ends its stream: meanwhile it holds only the block it
        // was given (shared with the other observers) and reads nothing more.
        const bytes = (print && block.frame(print, from)) || block.output(from);
        sending = true;
        try {
          if (!(await sentWithin(conn.sendBytes(bytes), idleMs))) {
            stalledAt = Math.max(block.first, from);
            abort.abort();
          }
        } finally {
          sending = false;
          lastSent = Date.now();
        }
      },
      abort.signal,
    );
  } finally {
    if (beat) clearInterval(beat);
  }
  if (stalledAt !== null) {
    const message = `observer too slow: it left the console of run ${runId} unread for ${idleMs / 1000} s (--client-idle-timeout); resume with --from ${stalledAt}`;
    log('warn', `${conn.peer}: ${message}`, runId);
    conn.abandon({ type: 'failure', message, code: 'slow_observer' });
    return true;
  }
  if (!end) return false;
  await conn.send({ type: 'run_end', run_id: runId, outcome: end.outcome });
  return true;
}
