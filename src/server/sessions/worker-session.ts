import { randomBytes } from 'node:crypto';
import type { Connection } from '../../protocol/connection.js';
import { decodeWorkerMessage } from '../../protocol/decode.js';
import type { WorkerFacts } from '../../protocol/types.js';
import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { PROTOCOL_VERSION, VERSION } from '../../shared/version.js';
import { artifactSink } from '../core/artifact-sink.js';
import { connectWorker, disconnectWorker, giveBack, workerWaits } from '../core/dispatch.js';
import { resumeRun } from '../core/reattach.js';
import { finishRun, ownRun, recordOutput } from '../core/runs.js';
import type { ServerState, WorkerLink, WorkerPeer } from '../core/state.js';
import { workerSessionEnded } from './worker-session-end.js';

/** The core's handle on this worker: the only way it reaches the connection. */
function linkOf(conn: Connection, receivedAcks: boolean): WorkerLink {
  return {
    ...(receivedAcks ? { sendTakeBack: (runId: string) => void conn.send({ type: 'take_back', run_id: runId }).catch(() => undefined) } : {}),
    get isClosed() {
      return conn.isClosed;
    },
    sendJob: (runId, job, attempt) => conn.send({ type: 'job', run_id: runId, job, ...(attempt ? { attempt } : {}) }),
    sendResume: (runId, from, why) => conn.send(from === null ? { type: 'run_gone', run_id: runId, reason: why } : { type: 'resumed', run_id: runId, from }),
    sendCancel: (runId, why) => void conn.send({ type: 'cancel', run_id: runId, reason: why }).catch(() => undefined),
    refuse: (message, code) => void conn.fail(message, code),
    drop: () => conn.destroy(),
    pipelines: true,
  };
}

/**
 * One worker's conversation, after its hello:
 *   1. welcome it (with the heartbeat period) and register it with the core;
 *   2. read its lines: job_requested puts it on its platform's waiting list,
 *      output/artifact/job_finished report on its current run; resume
 *      (after a reconnect) takes back a run that awaits its worker;
 *   3. send heartbeats, and treat 3 silent periods as a lost worker;
 *   4. on close or garbage, the core records its current run as lost.
 */
export async function runWorkerSession(state: ServerState, conn: Connection, facts: WorkerFacts, storedAcks = false, receivedAcks = false): Promise<void> {
  const w: WorkerPeer = { id: randomBytes(4).toString('hex'), link: linkOf(conn, receivedAcks), peer: conn.peer, facts, since: new Date().toISOString(), runId: null, waiting: false };
  // A refused worker (dropped platform) has been sent its failure line; the connection closes behind it.
  if (!connectWorker(state, w)) return;
  log('info', `worker ${w.id} connected from ${conn.peer}: ${facts.platform} on ${facts.hostname} (${facts.os} ${facts.release}, ${facts.cpus} CPUs)`);
  const hb = state.config.heartbeatMs;
  let lost = 'connection closed';
  const beat = setInterval(() => {
    const silent = conn.checkSilence(3 * hb, () => {
      lost = `no heartbeat for ${Math.round(conn.idleMs() / 1000)} s`;
      conn.destroy();
    });
    if (!silent) conn.send({ type: 'heartbeat' }).catch(() => undefined);
  }, hb);
  try {
    await conn.send({ type: 'welcome', version: PROTOCOL_VERSION, server: `builder-server ${VERSION}`, heartbeat_ms: hb, pipeline: true, ...(storedAcks ? { stored_acks: true } : {}), ...(receivedAcks ? { received_acks: true } : {}) });
    for (;;) {
      const m = decodeWorkerMessage(await conn.readLine());
      switch (m.type) {
        case 'job_requested':
          // Also while its run is being reported (pipeline, see protocol/messages.ts): one job is claimed ahead.
          workerWaits(state, w);
          break;
        case 'heartbeat':
          break;
        case 'give_back':
          // A draining worker hands back the job it holds ahead, unbegun (see protocol/messages.ts).
          if (receivedAcks) giveBack(state, w, m.run_id);
          break;
        case 'resume': {
          // why not job_stored for a run with a stored result: a run lost after the grace has one
          // too (under the same id), and that worker must kill its job; run_gone fits both.
          const r = resumeRun(state, w, m.run_id, m.attempt);
          if ('gone' in r) log('warn', `worker ${w.id} asked to resume run ${m.run_id}: ${r.gone}; told to drop it`, m.run_id);
          await w.link.sendResume?.(m.run_id, 'from' in r ? r.from : null, 'gone' in r ? r.gone : '');
          break;
        }
        case 'output': {
          const run = ownRun(state, w, m.run_id);
          if (run) recordOutput(state, run, m.t, m.line, m.seq);
          // Backpressure: while the console's disk writes lag, stop reading this worker (TCP then holds it back).
          if (run?.console) await run.console.room();
          break;
        }
        case 'artifact': {
          const sink = await artifactSink(state, ownRun(state, w, m.run_id), m);
          try {
            await conn.readRaw(m.size, sink.stream);
          } catch (e) {
            await sink.done(e);
            if (conn.isClosed) throw e;
            break;
          }
          await sink.done();
          break;
        }
        case 'job_finished': {
          const run = ownRun(state, w, m.run_id);
          // why not awaited: storing takes several fsyncs, and the worker's next job_requested
          // (right behind this line) need not wait for them; the run leaves its active phases and the
          // worker is idle synchronously, and the core logs its own storage errors.
          const stored = run ? finishRun(state, run, m.outcome) : Promise.reject(new Error('it is not this worker\'s current run'));
          // finishRun released the worker synchronously (runs.ts endRun): the run sent ahead is its current
          // one now, held for a resume if the connection drops, so the worker may begin it before the result
          // is durable. Sent at once: the worker's next job waits for it. A stale run gets only job_stored (error).
          if (run && receivedAcks) conn.send({ type: 'job_received', run_id: m.run_id }).catch(() => undefined);
          // The ack: a worker that asked keeps the run (and resumes it after a reconnect) until it comes.
          const ack = (error?: string) => (storedAcks ? conn.send({ type: 'job_stored', run_id: m.run_id, ...(error === undefined ? {} : { error }) }) : undefined);
          void stored
            .then(
              // The core logged why a result was not stored; it is in running/ for the next start then.
              () => ack(state.results.has(m.run_id) ? undefined : 'not stored: left in running/ for the next start'),
              (e) => {
                if (run) log('error', `cannot store run: ${reason(e)}`, m.run_id);
                return ack(reason(e));
              },
            )
            .catch(() => undefined);
          break;
        }
        default: {
          const never: never = m;
          throw new Error(`unhandled worker message ${JSON.stringify(never)}`);
        }
      }
    }
  } catch (e) {
    lost = (await workerSessionEnded(e, w.id, conn, ['bad_message', 'line_too_long'])) ?? lost;
  } finally {
    clearInterval(beat);
    conn.destroy();
    await disconnectWorker(state, w, lost);
    log('info', `worker ${w.id} disconnected (${lost})`);
  }
}
