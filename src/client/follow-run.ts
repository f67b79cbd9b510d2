import os from 'node:os';
import { Writable } from 'node:stream';
import type { Connection } from '../protocol/connection.js';
import type { ClientMessage } from '../protocol/messages.js';
import { describeOutcome, type Outcome } from '../protocol/types.js';
import { BuilderError, reason } from '../shared/errors.js';
import { paint } from './output.js';
import { open, reply, type ClientRemote } from './request.js';

/** Where an observer is: the run (once the server named it) and the next line number it has not printed. */
export interface Watch {
  runId: string | null;
  next: number;
}

/** How one connection of an observer ended: with the run's end, or cut off (the run may go on). */
export type Followed = { ended: true; outcome: Outcome | null } | { ended: false; why: string };

/**
 * Observes a run (`first`: observe or observe_latest), printing each line
 * once. When the connection drops before the run ended (a server restart,
 * a lost network), it reconnects on its own with back-off (0.25 s doubling
 * to 5 s) as `observe RUN_ID --from NEXT`, for at most `reconnectMs` of
 * being away (0: not at all, as before), then gives up with one line naming
 * the line to resume from. Only a drop after the server started answering
 * is retried: a first connect that fails fails at once. Returns the run's
 * outcome (null: it ended without one).
 */
export async function observeRun(remote: ClientRemote, first: Extract<ClientMessage, { type: 'observe' | 'observe_latest' }>, json: boolean, reconnectMs: number): Promise<Outcome | null> {
  lowerPriority();
  const watch: Watch = { runId: null, next: first.from ?? 0 };
  // The server prints the lines for us (output_block frames): no parse and no formatting per line here.
  const format = json ? ('json' as const) : ('text' as const);
  let awaySince: number | null = null;
  let delay = 250;
  for (;;) {
    let followed: Followed;
    try {
      const msg: ClientMessage = watch.runId ? { type: 'observe', run_id: watch.runId, from: watch.next, print: format } : { ...first, print: format };
      // A reconnect waits for an answer no longer than the time left (a frozen server must not stretch --reconnect-for).
      const left = awaySince === null ? remote.waitMs : Math.max(1000, reconnectMs - (Date.now() - awaySince));
      followed = await followRun(await open({ ...remote, waitMs: Math.min(remote.waitMs, left) }, msg), json, watch, () => ((awaySince = null), (delay = 250)));
    } catch (e) {
      if (!watch.runId || !retryable(e)) throw e;
      followed = { ended: false, why: reason(e) };
    }
    if (followed.ended && followed.outcome !== null) return followed.outcome;
    if (followed.ended && reconnectMs <= 0) {
      if (json) process.stdout.write(JSON.stringify({ run_id: watch.runId, outcome: null }) + '\n');
      else process.stderr.write(`-- ${watch.runId}: ended without an outcome (the server stopped or lost the run; see builder-client results)\n`);
      return null;
    }
    // Ended without an outcome: the server stopped (SIGTERM) and keeps the run for its next start.
    const why = followed.ended ? 'the server stopped' : followed.why;
    if (reconnectMs <= 0) throw new BuilderError('connection_lost', `${why}; resume with: builder-client observe ${watch.runId} --from ${watch.next}`);
    awaySince ??= Date.now();
    if (Date.now() - awaySince >= reconnectMs)
      throw new BuilderError('connection_lost', `${why}; the server did not take the observer back within ${reconnectMs / 1000} s (--reconnect-for): resume with: builder-client observe ${watch.runId} --from ${watch.next}`);
    process.stderr.write(paint.dim(`-- ${why}; reconnecting in ${(delay / 1000).toFixed(2)} s to go on from line ${watch.next}\n`));
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5000);
  }
}

/**
 * The `size` raw bytes of an output_block, whole (at most one block: the
 * socket is paused meanwhile, see Connection), read with the machinery that
 * reads artifact bytes.
 */
async function readPrinted(conn: Connection, size: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  // why the high mark: the parts are only collected, so the reader need not wait for drains.
  const sink = new Writable({ highWaterMark: 1 << 30, write: (chunk: Buffer, _enc, done) => (parts.push(chunk), done()) });
  await conn.readRaw(size, sink);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** The printed lines after the first `skip` (a block that starts before what was already printed). */
function afterLines(printed: Buffer, skip: number): Buffer {
  let at = 0;
  for (let i = 0; i < skip && at < printed.length; i++) at = printed.indexOf(10, at) + 1 || printed.length;
  return printed.subarray(at);
}

/** Writes to stdout and waits while it is full: a slow stdout holds the socket back, not the client's memory. */
function printBytes(bytes: Buffer): Promise<void> {
  if (bytes.length === 0 || process.stdout.write(bytes)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => (process.stdout.off('drain', done), process.stdout.off('close', done), process.stdout.off('error', done), resolve());
    process.stdout.once('drain', done).once('close', done).once('error', done);
  });
}

/** Errors of a connection that went away (or could not be made again), not answers of the server. */
function retryable(e: unknown): boolean {
  return e instanceof BuilderError && ['no_reply', 'connect_failed', 'handshake_failed', 'timeout', 'connection_closed', 'connection_error'].includes(e.code);
}

// An observer is a viewer: on a shared host it yields the CPU to the builds and the server it watches.
function lowerPriority(): void {
  try {
    os.setPriority(os.constants.priority.PRIORITY_LOW);
  } catch {
    // Not allowed here: run at the normal priority.
  }
}

/**
 * Prints one connection's lines as they arrive until the run ends (output
 * messages one by one, output_block frames as they are); an
 * outcome goes to stderr (or as the last JSON line), a run_end without one
 * is left to the caller. `watch` keeps the run
 * id and the next line across connections; the header is printed once;
 * `onAnswer` is called when the server starts answering. A connection lost
 * mid-stream rejects (after every line received is printed).
 */
export async function followRun(conn: Connection, json: boolean, watch: Watch = { runId: null, next: 0 }, onAnswer: () => void = () => undefined): Promise<Followed> {
  // Lines are written in bursts: whatever arrived together goes out in one write (a
  // write per line would cost more than receiving it).
  let pending: string[] = [];
  const flush = () => {
    if (pending.length > 0) process.stdout.write(pending.join(''));
    pending = [];
  };
  // A server that sends heartbeats (it says so in `observing`) and is silent for 3 of them froze: the
  // connection is dropped, as if lost (the caller reconnects within --reconnect-for). Not while we hold
  // its data back (a slow stdout): idleMs is 0 then.
  let watchdog: NodeJS.Timeout | null = null;
  let silentFor = 0;
  try {
    for (;;) {
      const m = await reply(conn);
      if (m.type === 'output') {
        // A line the observer already printed (a server that resent from earlier) is not printed twice.
        if (m.n < watch.next) continue;
        watch.next = m.n + 1;
        pending.push(json ? JSON.stringify({ n: m.n, t: m.t, line: m.line }) + '\n' : m.line + '\n');
        if (pending.length >= 4096 || !conn.hasLine()) flush();
        continue;
      }
      flush();
      if (m.type === 'output_block') {
        const printed = await readPrinted(conn, m.bytes);
        // A block is printed whole or not at all: a connection lost inside one resumes at its first line.
        const skip = watch.next - m.from;
        if (skip >= m.lines) continue;
        await printBytes(skip > 0 ? afterLines(printed, skip) : printed);
        watch.next = m.from + m.lines;
        continue;
      }
      if (m.type === 'observing') {
        onAnswer();
        if (!json && watch.runId === null) process.stderr.write(paint.dim(`-- ${m.run_id}: ${m.name} on ${m.platform}\n`));
        watch.runId = m.run_id;
        const hb = m.heartbeat_ms;
        if (hb !== undefined && watchdog === null)
          watchdog = setInterval(
            () =>
              conn.checkSilence(3 * hb, () => {
                silentFor = conn.idleMs();
                conn.destroy();
              }),
            hb,
          );
      } else if (m.type === 'run_end') {
        watch.runId ??= m.run_id;
        // Without an outcome the caller decides: the run may go on after the server's restart.
        if (m.outcome === null) return { ended: true, outcome: null };
        if (json) process.stdout.write(JSON.stringify({ run_id: m.run_id, outcome: m.outcome }) + '\n');
        else if (m.outcome) process.stderr.write(paint.dim(`-- ${m.run_id}: ${describeOutcome(m.outcome)}\n`));
        return { ended: true, outcome: m.outcome };
      }
    }
  } catch (e) {
    if (silentFor > 0) throw new BuilderError('timeout', `${conn.peer} sent nothing for ${(silentFor / 1000).toFixed(1)} s (3 heartbeats): the server froze or the network is down`);
    throw e;
  } finally {
    if (watchdog) clearInterval(watchdog);
    flush();
    conn.destroy();
  }
}
