import { createReadStream, promises as fs } from 'node:fs';
import type { Connection } from '../protocol/connection.js';
import { decodeServerMessage } from '../protocol/decode.js';
import { dial, type Remote } from '../protocol/dial.js';
import type { Job } from '../protocol/types.js';
import { describeOutcome } from '../protocol/types.js';
import { runJob } from '../exec/run-job.js';
import { BuilderError, reason } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { workerFacts } from './facts.js';

/** Worker settings from the command line. */
export interface WorkerOptions {
  platform: string;
  remote: Remote;
  loop: boolean;
  workRoot?: string;
  token?: string;
  /** Aborted on SIGTERM/SIGINT: the current job's process group is killed and the worker exits. */
  stop?: AbortSignal;
}

/**
 * The worker's conversation with the server:
 *   1. connect and send a hello with what this host is;
 *   2. ask for a job and wait (heartbeats both ways meanwhile);
 *   3. run it, streaming every output line; a `cancel` kills its process group;
 *   4. send its artifacts (after an exit only), then job_finished; remove the work dir;
 *   5. once mode: exit; loop mode: ask again, reconnecting with back-off when
 *      the server is away.
 * If the server cannot be reached mid-job, the job is killed and dropped: the
 * server requeues it.
 */
export async function runWorker(opts: WorkerOptions): Promise<void> {
  let backoff = 250;
  while (!opts.stop?.aborted) {
    try {
      const ran = await serveOnce(opts);
      backoff = 250;
      if (!opts.loop && ran) return;
    } catch (e) {
      if (opts.stop?.aborted) return;
      if (!opts.loop) throw e;
      // Retrying cannot fix these: say so once and exit (the service manager decides what next).
      if (e instanceof BuilderError && ['platform_dropped', 'unauthorized', 'tls_untrusted'].includes(e.code)) throw e;
      log('warn', `${reason(e)}; reconnecting in ${(backoff / 1000).toFixed(1)} s`);
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 30_000);
    }
  }
}

/** One connection: takes jobs (one, or until the connection fails in loop mode). Returns whether a job ran. */
async function serveOnce(opts: WorkerOptions): Promise<boolean> {
  const { conn, welcome } = await dial(opts.remote, { role: 'worker', worker: workerFacts(opts.platform), ...(opts.token ? { token: opts.token } : {}) });
  log('info', `connected to ${conn.peer} (${welcome.server}) as a ${opts.platform} worker`);
  const hb = welcome.heartbeat_ms;
  let current = null as { runId: string; abort: AbortController } | null;
  let nextJob = null as ((m: { run_id: string; job: Job } | Error) => void) | null;
  let failure = null as Error | null;
  const beat = setInterval(() => {
    if (conn.idleMs() > 3 * hb) conn.destroy();
    else conn.send({ type: 'heartbeat' }).catch(() => undefined);
  }, hb);
  // Reads the server's lines for the whole connection: jobs, cancels, heartbeats.
  const onStop = () => {
    current?.abort.abort(new Error('the worker was stopped'));
    conn.destroy();
  };
  opts.stop?.addEventListener('abort', onStop, { once: true });
  const reader = (async () => {
    try {
      for (;;) {
        const m = decodeServerMessage(await conn.readLine());
        if (m.type === 'job') {
          // Known as current at once: a cancel right behind the job (while it is being set up) must find it.
          current = { runId: m.run_id, abort: new AbortController() };
          nextJob?.(m);
        } else if (m.type === 'cancel' && current?.runId === m.run_id) current.abort.abort(new Error(m.reason));
        else if (m.type === 'failure') throw new BuilderError(m.code ?? 'server_failure', `server: ${m.message}`);
      }
    } catch (e) {
      const code = e instanceof BuilderError ? e.code : '';
      failure =
        code === 'connection_closed' || code === 'connection_error'
          ? new BuilderError('connection_lost', `lost the connection to ${conn.peer} (${reason(e)})`)
          : (e as Error);
      current?.abort.abort(failure);
      nextJob?.(failure);
      conn.destroy();
    }
  })();
  let ran = false;
  try {
    do {
      const got = await new Promise<{ run_id: string; job: Job } | Error>((resolve) => {
        nextJob = resolve;
        if (failure) resolve(failure);
        else conn.send({ type: 'job_requested' }).catch(resolve);
      });
      nextJob = null;
      if (got instanceof Error) throw got;
      if (current?.runId !== got.run_id) current = { runId: got.run_id, abort: new AbortController() };
      await runOne(conn, got.run_id, got.job, current.abort.signal, opts.workRoot);
      current = null;
      ran = true;
    } while (opts.loop);
    await conn.send({ type: 'heartbeat' });
    conn.close();
    await conn.closed;
    return ran;
  } finally {
    opts.stop?.removeEventListener('abort', onStop);
    clearInterval(beat);
    conn.destroy();
    await reader;
  }
}

async function runOne(conn: Connection, runId: string, job: Job, signal: AbortSignal, workRoot?: string): Promise<void> {
  log('info', `running ${job.name} (timeout ${job.timeout_s} s)`, runId);
  const result = await runJob(job, {
    signal,
    ...(workRoot ? { workRoot } : {}),
        // Lines of one event-loop turn go out as one write; a full batch makes the job wait for the server.
    onLine: (t, line) => conn.sendSoon({ type: 'output', run_id: runId, t, line }),
  }).catch((e: unknown) => {
    throw new BuilderError('output_failed', `cannot send output of ${job.name} to the server: ${reason(e)}; killed the job`, { cause: e });
  });
  try {
    if (signal.aborted && conn.isClosed)
      throw new BuilderError('connection_lost', `${reason(signal.reason)}; killed ${job.name}, the server requeues it`);
    for (const a of result.artifacts) {
      try {
        await conn.sendFrame({ type: 'artifact', run_id: runId, path: a.path, size: a.size, mode: a.mode }, createReadStream(a.full, { highWaterMark: 1 << 20 }), a.size);
      } catch (e) {
        if (conn.isClosed) throw e;
        // The frame was never started (the file vanished): say so and go on.
        await conn.send({ type: 'output', run_id: runId, t: 0, line: `builder-worker: cannot read artifact ${a.path}: ${reason(e)}; not sent` });
      }
    }
    await conn.send({ type: 'job_finished', run_id: runId, outcome: result.outcome });
    log('info', `${job.name}: ${describeOutcome(result.outcome)}, ${result.artifacts.length} artifact(s)`, runId);
  } finally {
    if (result.dir) await fs.rm(result.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
