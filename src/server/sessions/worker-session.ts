import { randomBytes } from 'node:crypto';
import type { Connection } from '../../protocol/connection.js';
import { decodeWorkerMessage } from '../../protocol/decode.js';
import type { WorkerFacts } from '../../protocol/types.js';
import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { PROTOCOL_VERSION, VERSION } from '../../shared/version.js';
import { workerWaits } from '../core/dispatch.js';
import { finishRun, loseRun, ownRun, recordOutput } from '../core/runs.js';
import { receiveArtifact } from '../core/receive-artifact.js';
import type { ServerState, WorkerPeer } from '../core/state.js';

/**
 * One worker's conversation, after its hello:
 *   1. welcome it (with the heartbeat period) and register it;
 *   2. read its lines: job_requested puts it on its platform's waiting list,
 *      output/artifact/job_finished report on its current run;
 *   3. send heartbeats, and treat 3 silent periods as a lost worker;
 *   4. on close or garbage, its current run is recorded as lost and requeued.
 */
export async function runWorkerSession(state: ServerState, conn: Connection, facts: WorkerFacts): Promise<void> {
  if (state.dropped.has(facts.platform)) {
    await conn.fail(`platform ${facts.platform} is dropped on this server (undrop-platform ${facts.platform} to accept it again)`, 'platform_dropped');
    return;
  }
  const w: WorkerPeer = { id: randomBytes(4).toString('hex'), conn, facts, since: new Date().toISOString(), runId: null, waiting: false };
  state.workers.set(w.id, w);
  log('info', `worker ${w.id} connected from ${conn.peer}: ${facts.platform} on ${facts.hostname} (${facts.os} ${facts.release}, ${facts.cpus} CPUs)`);
  const hb = state.config.heartbeatMs;
  let lost = 'connection closed';
  const beat = setInterval(() => {
    if (conn.idleMs() > 3 * hb) {
      lost = `no heartbeat for ${Math.round(conn.idleMs() / 1000)} s`;
      conn.destroy();
      return;
    }
    conn.send({ type: 'heartbeat' }).catch(() => undefined);
  }, hb);
  try {
    await conn.send({ type: 'welcome', version: PROTOCOL_VERSION, server: `builder-server ${VERSION}`, heartbeat_ms: hb });
    for (;;) {
      const m = decodeWorkerMessage(await conn.readLine());
      switch (m.type) {
        case 'job_requested':
          if (w.runId === null) workerWaits(state, w);
          break;
        case 'heartbeat':
          break;
        case 'output': {
          const run = ownRun(state, w, m.run_id);
          if (run) recordOutput(state, run, m.t, m.line);
          // Backpressure: while the console's disk writes lag, stop reading this worker (TCP then holds it back).
          if (run) await run.console.room();
          break;
        }
        case 'artifact':
          await receiveArtifact(state, ownRun(state, w, m.run_id), conn, m);
          break;
        case 'job_finished': {
          const run = ownRun(state, w, m.run_id);
          // why not awaited: storing takes several fsyncs, and the worker's next job_requested
          // (right behind this line) need not wait for them; the run is marked done and the
          // worker idle synchronously, and endRun logs its own storage errors.
          if (run) void finishRun(state, run, m.outcome).catch((e) => log('error', `cannot store run: ${reason(e)}`, m.run_id));
          break;
        }
        default: {
          const never: never = m;
          throw new Error(`unhandled worker message ${JSON.stringify(never)}`);
        }
      }
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'bad_message' || code === 'line_too_long') {
      lost = `protocol error: ${reason(e)}`;
      log('warn', `worker ${w.id} (${conn.peer}): ${reason(e)}; disconnecting`);
      await conn.fail(reason(e), code);
    } else if (code !== 'connection_closed' && code !== 'connection_error') {
      lost = reason(e);
      log('error', `worker ${w.id} (${conn.peer}): ${reason(e)}`);
    }
  } finally {
    clearInterval(beat);
    conn.destroy();
    state.workers.delete(w.id);
    w.waiting = false;
    const run = w.runId ? state.runs.get(w.runId) : undefined;
    if (run && !run.done) await loseRun(state, run, `worker lost: ${lost}`);
    log('info', `worker ${w.id} disconnected (${lost})`);
  }
}
