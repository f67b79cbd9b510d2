import type http from 'node:http';
import { describeOutcome } from '../../protocol/types.js';
import { followConsole } from '../core/follow-console.js';
import type { ServerState } from '../core/state.js';

const KEEPALIVE_MS = 15_000;

/**
 * Streams a run's console as Server-Sent Events: one `message` event per
 * line (id = line number, data = {n, t, line}), from line `from` (or after
 * the browser's Last-Event-ID when it reconnects), live until the run ends,
 * then one `end` event ({outcome, ok}) and the end of the response. It reads
 * the console file with followConsole, as `builder-client observe` does, and
 * waits for the socket to drain: a slow browser only slows itself.
 */
export async function streamConsoleEvents(state: ServerState, req: http.IncomingMessage, res: http.ServerResponse, runId: string, from: number): Promise<void> {
  const lastId = Number(req.headers['last-event-id']);
  const start = Number.isInteger(lastId) && lastId >= 0 ? lastId + 1 : from;
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
  const gone = new AbortController();
  res.once('close', () => gone.abort());
  const send = async (text: string) => {
    if (gone.signal.aborted) return;
    if (!res.write(text)) await new Promise<void>((r) => res.once('drain', r).once('close', r));
  };
  // A comment line now, so the browser sees the stream open; then one now and then, so proxies keep it.
  void send('retry: 2000\n: following\n\n');
  const keepalive = setInterval(() => void send(': keep-alive\n\n'), KEEPALIVE_MS);
  try {
    const end = await followConsole(state, runId, start, (n, c) => send(`id: ${n}\ndata: ${JSON.stringify({ n, t: c.t, line: c.line })}\n\n`), gone.signal);
    if (end && !gone.signal.aborted) {
      const o = end.outcome;
      await send(`event: end\ndata: ${JSON.stringify({ outcome: o ? describeOutcome(o) : 'unknown', ok: o?.kind === 'exited' && o.code === 0 })}\n\n`);
    }
  } finally {
    clearInterval(keepalive);
    res.end();
  }
}
