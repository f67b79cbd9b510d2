import { randomBytes } from 'node:crypto';
import { checkName, decodeOutcome } from '../protocol/decode.js';
import type { Outcome, WorkerFacts } from '../protocol/types.js';
import { BuilderError, reason } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { artifactSink } from '../server/core/artifact-sink.js';
import { connectWorker, disconnectWorker, workerWaits } from '../server/core/dispatch.js';
import type { Run } from '../server/core/run-phase.js';
import { finishRun, ownRun, recordOutput } from '../server/core/runs.js';
import type { ServerState, WorkerLink, WorkerPeer } from '../server/core/state.js';
import { WORKER_VERSION } from './cmd.js';
import type { CompatConnection } from './compat-connection.js';
import { readJobFinished } from './job-finished-reader.js';
import { workerSessionEnded } from '../server/sessions/worker-session-end.js';

/** Mode of artifacts from an original worker, which sends no mode. */
const ARTIFACT_MODE = 0o644;

/**
 * The core's handle on an original worker: a job goes out as job_schedule;
 * the protocol has no cancel, so a cancel closes the connection (the
 * original worker kills the job when its next output line cannot be sent).
 */
function linkOf(conn: CompatConnection): WorkerLink {
  return {
    get isClosed() {
      return conn.isClosed;
    },
    sendJob: (runId, job) => conn.sendCmd({ type: 'job_schedule', uuid: runId, job: { name: job.name, platform: job.platform, script: job.script } }),
    sendCancel: (runId, why) => {
      log('warn', `${conn.peer}: ${why}; the original protocol cannot cancel, so the connection is closed (its worker kills the job at its next output line)`, runId);
      conn.destroy();
    },
    refuse: (message) => void conn.fail(message),
    drop: () => conn.destroy(),
  };
}

/**
 * One original worker, after its hello (a run like any other from here on):
 *   1. answer server_hello; read job_requested(platform) within the hello timeout;
 *   2. register it as a waiting worker of that platform: the core's dispatch
 *      sends it a job (as job_schedule, see CompatConnection.send);
 *   3. output(uuid, line): a console line, timestamped on arrival;
 *   4. job_finished: streamed, artifacts to disk, the run stored; then close;
 *   5. a close or garbage before that: the run is lost and requeued, as on the main port.
 * No heartbeats exist in this protocol: TCP keepalive and the job timeout find dead workers.
 */
export async function runCompatWorkerSession(state: ServerState, conn: CompatConnection): Promise<void> {
  await conn.sendCmd({ type: 'server_hello' });
  const helloMs = state.config.limits.helloTimeoutMs;
  const timer = setTimeout(() => void conn.fail(`no job_requested within ${helloMs / 1000} s`, 'timeout'), helloMs);
  let platform: string;
  try {
    const first = await conn.readFrame();
    if (first.kind !== 'cmd' || first.cmd.type !== 'job_requested') throw new BuilderError('bad_message', `${conn.peer}: a worker must start with job_requested, not ${first.kind === 'cmd' ? first.cmd.type : 'job_finished'}`);
    platform = checkName('platform', first.cmd.platform);
  } finally {
    clearTimeout(timer);
  }
  const w: WorkerPeer = { id: randomBytes(4).toString('hex'), link: linkOf(conn), peer: conn.peer, facts: factsOf(conn, platform), since: new Date().toISOString(), runId: null, waiting: false };
  // A refused worker (dropped platform) has been sent its Failure; the connection closes behind it.
  if (!connectWorker(state, w)) return;
  log('info', `worker ${w.id} connected from ${conn.peer}: ${platform}, an original worker (--compat-port)`);
  let lost = 'connection closed';
  try {
    workerWaits(state, w);
    for (;;) {
      const frame = await conn.readFrame();
      if (frame.kind === 'job_finished') {
        await receiveFinished(state, w, conn, frame.length);
        conn.close();
        return;
      }
      const m = frame.cmd;
      if (m.type !== 'output') throw new BuilderError('bad_message', `${conn.peer}: unexpected ${m.type} from a worker (expected output or job_finished)`);
      const run = ownRun(state, w, m.uuid);
      if (run) recordOutput(state, run, sinceStart(run), m.line);
    }
  } catch (e) {
    lost = (await workerSessionEnded(e, w.id, conn, ['bad_message', 'frame_too_long'])) ?? lost;
  } finally {
    conn.destroy();
    const run = w.runId ? state.runs.get(w.runId) : undefined;
    // A run the server stopped (timeout, cancel) ends the way it asked for: closing was its only way to stop it.
    if (run?.phase.kind === 'stopping') await finishRun(state, run, { kind: 'failed', message: run.phase.why });
    await disconnectWorker(state, w, lost);
    log('info', `worker ${w.id} disconnected (${lost})`);
  }
}

/** Streams job_finished: its artifacts into the run (bytes of a stale run are read and dropped), then stores the run. */
async function receiveFinished(state: ServerState, w: WorkerPeer, conn: CompatConnection, length: number): Promise<void> {
  let run: Run | null = null;
  let outcome: Outcome | null = null;
  await readJobFinished(conn, length, {
    start(uuid, result) {
      outcome = checkedOutcome(result);
      run = ownRun(state, w, uuid);
    },
    async file(path, size) {
      const sink = await artifactSink(state, run, { path, size, mode: ARTIFACT_MODE });
      try {
        await conn.readRaw(size, sink.stream);
      } catch (e) {
        await sink.done(e);
        throw e;
      }
      await sink.done();
    },
  });
  const done = run as Run | null;
  // Not awaited, as on the main port: endRun marks the run done at once and logs its own storage errors.
  if (done && outcome) void finishRun(state, done, outcome).catch((e) => log('error', `cannot store run: ${reason(e)}`, done.record.run_id));
}

/** The result as our outcome, checked like a main-port worker's (a long message is cut). */
function checkedOutcome(o: Outcome): Outcome {
  const v = o.kind === 'failed' ? { ...o, message: o.message.slice(0, 4096) } : o;
  return decodeOutcome(v as unknown as Record<string, unknown>);
}

/** Nanoseconds since the run started: the original worker's lines carry no time, so they are stamped on arrival. */
function sinceStart(run: Run): number {
  return Math.max(0, Math.round((performance.timeOrigin + performance.now() - Date.parse(run.record.started)) * 1e6));
}

/** What we know of an original worker: it tells only its platform. */
function factsOf(conn: CompatConnection, platform: string): WorkerFacts {
  return {
    platform,
    hostname: conn.socket.remoteAddress ?? conn.peer,
    os: 'unknown',
    release: '',
    arch: '',
    cpus: 0,
    memory: 0,
    version: `original builder-worker (protocol ${WORKER_VERSION})`,
  };
}
