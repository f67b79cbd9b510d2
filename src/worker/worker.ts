import { decodeServerMessage } from '../protocol/decode.js';
import { dial, type Remote } from '../protocol/dial.js';
import type { ServerMessage } from '../protocol/messages.js';
import { BuilderError, reason } from '../shared/errors.js';
import { log } from '../shared/log.js';
import type { Sandbox } from '../exec/sandbox/sandbox.js';
import { Attempt } from './attempt.js';
import { workerFacts } from './facts.js';

/** Worker settings from the command line. */
export interface WorkerOptions {
  platform: string;
  remote: Remote;
  loop: boolean;
  workRoot?: string;
  /** What runs each job (--sandbox); default: `none` as this process's user. */
  sandbox?: Sandbox;
  token?: string;
  /** Aborted on SIGTERM/SIGINT: the current job's process group is killed and the worker exits. */
  stop?: AbortSignal;
  /** Aborted to drain (SIGHUP): the current job is finished and reported, no new one is asked for (see takesAnother), then runWorker returns. */
  drain?: AbortSignal;
}

/**
 * The worker's conversation with the server:
 *   1. connect and send a hello with what this host is;
 *   2. ask for a job and wait (heartbeats both ways meanwhile);
 *   3. run it, streaming every output line numbered; a `cancel` kills its process group;
 *      in loop mode with a pipelining server, the next job is asked for as soon as its
 *      process has exited, and held ahead unbegun (a `take_back` drops it, a drain hands it back);
 *   4. send its artifacts (after an exit only), then job_finished; keep the run
 *      until job_stored (its result is durable on the server), then remove the
 *      work dir. Meanwhile, once job_received says the server read the report,
 *      the job sent ahead (pipelining) begins: at most two runs are carried,
 *      one waiting for its job_stored and one running;
 *   5. once mode: exit; loop mode: ask again, reconnecting with back-off when
 *      the server is away.
 * If the server cannot be heard mid-job (it restarted, the network dropped),
 * the job goes on (attempt.ts keeps its output and result) and the worker
 * reconnects with back-off, in once mode too, and presents `resume` with the
 * attempt credential: `resumed` resends the lines the server lacks and
 * reports as usual; `run_gone` (the server gave the run up) kills the job and
 * discards it.
 */
export async function runWorker(opts: WorkerOptions): Promise<void> {
  let backoff = 250;
  const carry: Carry = { attempt: null, reported: null };
  const onStop = () => {
    const why = typeof opts.stop?.reason === 'string' ? `${opts.stop.reason}: ` : '';
    const job = carry.attempt?.job.name;
    process.stderr.write(`builder-worker: ${why}stopping${job ? ` (killing ${job}; the server requeues it)` : ' (no job was running)'}\n`);
  };
  opts.stop?.addEventListener('abort', onStop, { once: true });
  // Draining: done once nothing is carried (an idle worker at once; see serveOnce).
  const drained = () => opts.drain?.aborted === true && !carry.attempt && !carry.reported;
  const onDrain = () => {
    const job = carry.attempt?.job.name;
    process.stderr.write(`builder-worker: ${String(opts.drain?.reason ?? 'drain')}: draining (${job ? `finishing ${job}, then exiting` : 'no job was running: exiting'}; no new job is taken)\n`);
  };
  opts.drain?.addEventListener('abort', onDrain, { once: true });
  try {
    while (!opts.stop?.aborted && !drained()) {
      try {
        const ran = await serveOnce(opts, carry);
        backoff = 250;
        if ((!opts.loop && ran) || opts.drain?.aborted) return;
      } catch (e) {
        if (opts.stop?.aborted || drained()) return;
        // Retrying cannot fix these: say so once and exit (the service manager decides what next).
        if (e instanceof BuilderError && ['platform_dropped', 'unauthorized', 'tls_untrusted', 'run_gone'].includes(e.code)) throw e;
        const carried = [carry.reported, carry.attempt].filter((a): a is Attempt => a !== null);
        if (!opts.loop && carried.length === 0) throw e;
        // Past the job's timeout the server has ended the run on its own: stop carrying it (the finally kills it).
        for (const held of carried)
          if (Date.now() - held.startedMs > held.job.timeout_s * 1000 + RESUME_GIVE_UP_SLACK_MS)
            throw new BuilderError('connection_lost', `${reason(e)}; the server was away past the timeout of ${held.job.name} (${held.job.timeout_s} s): it is killed here`);
        const cap = carried.length > 0 ? RESUME_BACKOFF_MAX_MS : 30_000;
        const meanwhile = carried.map((a) => a.job.name).join(' and ');
        log('warn', `${reason(e)}; reconnecting in ${(Math.min(backoff, cap) / 1000).toFixed(1)} s${meanwhile ? ` (${meanwhile} held meanwhile)` : ''}`);
        await sleep(Math.min(backoff, cap), carried.length > 0 ? opts.stop : anyOf(opts.stop, opts.drain));
        backoff = Math.min(backoff * 2, cap);
      }
    }
  } finally {
    opts.stop?.removeEventListener('abort', onStop);
    opts.drain?.removeEventListener('abort', onDrain);
    // Stopped or giving up: a job nobody can report on is not left running.
    if (carry.attempt) await carry.attempt.discard('the worker is stopping');
    if (carry.reported) await carry.reported.discard('the worker is stopping');
  }
}

/**
 * Whether the worker takes another job after the current one: the one place
 * that decides (the loop and the early request of a pipelining server both
 * ask it). Not in once mode, not once stopping or draining.
 */
function takesAnother(opts: WorkerOptions): boolean {
  return opts.loop && !opts.stop?.aborted && !opts.drain?.aborted;
}

/** Past a held job's timeout, how much longer the worker keeps trying to resume it (the server's own timeout has ended the run by then). */
const RESUME_GIVE_UP_SLACK_MS = 15_000;

/** Longest wait between reconnects while a job waits to be resumed: the server's grace is a few heartbeats. */
const RESUME_BACKOFF_MAX_MS = 2000;

/**
 * The jobs a worker holds across connections, until the server has their
 * results: the current one (running, or being reported), and one reported
 * earlier whose job_stored has not come yet (received_acks only).
 */
interface Carry {
  attempt: Attempt | null;
  reported: Attempt | null;
}

function anyOf(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  return present.length > 1 ? AbortSignal.any(present) : present[0];
}

function sleep(ms: number, stop?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stop?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stop?.addEventListener('abort', done, { once: true });
  });
}

type Reply = Extract<ServerMessage, { type: 'job' | 'resumed' | 'run_gone' }>;
type Stored = Extract<ServerMessage, { type: 'job_stored' }>;
type Received = Extract<ServerMessage, { type: 'job_received' | 'job_stored' }>;

/** One connection: resumes the carried job, then takes jobs (one, or until the connection fails in loop mode). Returns whether a job was reported. */
async function serveOnce(opts: WorkerOptions, carry: Carry): Promise<boolean> {
  // The stop signal also ends a connect or a handshake that hangs (a frozen server).
  const { conn, welcome } = await dial(
    opts.remote,
    { role: 'worker', worker: workerFacts(opts.platform), stored_acks: true, received_acks: true, ...(opts.token ? { token: opts.token } : {}) },
    opts.stop ? { signal: opts.stop } : {},
  );
  log('info', `connected to ${conn.peer} (${welcome.server}) as a ${opts.platform} worker`);
  const hb = welcome.heartbeat_ms;
  let waiter = null as ((m: Reply | Error) => void) | null;
  // Pipelining (welcome.pipeline): a job_requested is out and no job came for it yet; a job sent ahead, held unstarted.
  let asked = false;
  let ahead = null as Extract<ServerMessage, { type: 'job' }> | null;
  let ran = false;
  /** Reported runs whose job_stored has not come yet, by run id. */
  const acks = new Map<string, (m: Stored) => void>();
  const storedAck = (runId: string) => new Promise<Stored>((r) => acks.set(runId, r)).finally(() => acks.delete(runId));
  /** Reported runs whose job_received has not come yet, by run id. */
  const receipts = new Map<string, (m: Received) => void>();
  const receivedAck = (runId: string) => new Promise<Received>((r) => receipts.set(runId, r)).finally(() => receipts.delete(runId));
  /** carry.reported's wait for its job_stored on this connection (rejects when the connection is lost first). */
  let storing: Promise<void> = Promise.resolve();
  /** Called by the reader when a job comes (begun at once, or held ahead). */
  let onJob = null as (() => void) | null;
  const jobCame = () => new Promise<void>((r) => (onJob = r)).finally(() => (onJob = null));
  /** Whether this connection begins another job: the first one, then as takesAnother says. */
  const mayBegin = () => !ran || takesAnother(opts);
  /** Hands a job sent ahead back unbegun (a draining worker, received_acks): the server requeues it, nobody waits out a grace. */
  const giveBack = (runId: string) => conn.send({ type: 'give_back', run_id: runId }).catch(() => undefined);
  let failure = null as Error | null;
  let lostWith!: (e: Error) => void;
  const lost = new Promise<never>((_, reject) => (lostWith = reject));
  lost.catch(() => undefined);
  const beat = setInterval(() => {
    if (!conn.checkSilence(3 * hb, () => conn.destroy())) conn.send({ type: 'heartbeat' }).catch(() => undefined);
  }, hb);
  const onStop = () => {
    carry.attempt?.abort.abort(new Error('the worker was stopped'));
    conn.destroy();
  };
  opts.stop?.addEventListener('abort', onStop, { once: true });
  // Drained while idle (waiting for a job): hang up now, but half-close first and keep reading until the
  // server closes too (at most 2 s): a job it sent meanwhile is read, run, resumed and reported, not lost.
  const onDrain = () => {
    // A job held ahead (asked for when the current one's process exited) is handed back: the drain waits for one job only.
    if (ahead && welcome.received_acks) {
      void giveBack(ahead.run_id);
      ahead = null;
    }
    if (carry.attempt || carry.reported) return;
    conn.close();
    setTimeout(() => conn.destroy(), 2000).unref();
  };
  opts.drain?.addEventListener('abort', onDrain, { once: true });
  // Reads the server's lines for the whole connection: jobs, resume answers, cancels, heartbeats.
  const reader = (async () => {
    try {
      for (;;) {
        const m = decodeServerMessage(await conn.readLine());
        if (m.type === 'job') {
          asked = false;
          // Sent ahead while the current job is reported: held, and begun right after it (see nextJob).
          // One that comes once draining or stopping is handed back (received_acks), else held and never
          // begun (the server takes it back when the connection ends).
          if (carry.attempt && (opts.drain?.aborted || opts.stop?.aborted) && welcome.received_acks) void giveBack(m.run_id);
          else if (carry.attempt || !mayBegin()) ahead = m;
          // Started at once: a cancel right behind the job (while it is being set up) must find it.
          else carry.attempt = new Attempt(m.run_id, m.job, m.attempt, opts);
          waiter?.(m);
          onJob?.();
        } else if (m.type === 'resumed' || m.type === 'run_gone') waiter?.(m);
        // The ack of a report (one of a job cancelled before it began is not waited for).
        else if (m.type === 'job_stored') {
          // A job_stored also stands for a job_received that never came (a report on a run the server had given up).
          receipts.get(m.run_id)?.(m);
          acks.get(m.run_id)?.(m);
        } else if (m.type === 'job_received') receipts.get(m.run_id)?.(m);
        // Taken back for an idle worker: always before the job_received that would have begun it.
        else if (m.type === 'take_back' && ahead?.run_id === m.run_id) ahead = null;
        else if (m.type === 'cancel' && carry.attempt?.runId === m.run_id) carry.attempt.abort.abort(new Error(m.reason));
        else if (m.type === 'cancel' && ahead?.run_id === m.run_id) {
          // Never begun: answered at once (the line queues behind any artifact being sent).
          ahead = null;
          conn.send({ type: 'job_finished', run_id: m.run_id, outcome: { kind: 'failed', message: `cancelled before it began: ${m.reason}` } }).catch(() => undefined);
        } else if (m.type === 'failure') throw new BuilderError(m.code ?? 'server_failure', `server: ${m.message}`);
      }
    } catch (e) {
      const code = e instanceof BuilderError ? e.code : '';
      failure =
        code === 'connection_closed' || code === 'connection_error'
          ? new BuilderError('connection_lost', `lost the connection to ${conn.peer} (${reason(e)})`)
          : (e as Error);
      // A job held ahead was never begun: the server puts it back in its queue when it sees the connection drop.
      ahead = null;
      carry.reported?.detach();
      const a = carry.attempt;
      if (a) {
        a.detach();
        // An attempt without a credential (an old server) cannot be resumed: killed, as before.
        if (!a.credential) a.abort.abort(failure);
      }
      waiter?.(failure);
      lostWith(failure);
      conn.destroy();
    }
  })();
  /** Sends `msg` (null: nothing, a request is out already) and waits for the server's job or resume answer. */
  const ask = (msg: object | null) =>
    new Promise<Reply | Error>((resolve) => {
      waiter = resolve;
      if (failure) resolve(failure);
      else if (msg) conn.send(msg).catch(resolve);
    }).finally(() => (waiter = null));
  /**
   * Sends what the server lacks of attempt `a` (the current one, or the
   * reported one after a reconnect) and reports it. With
   * a pipelining server, the next job is asked for as soon as this job's
   * process has exited, so that the server claims it (its durable writes)
   * while this one's files are listed, sent and stored; it comes as `ahead`.
   */
  const finish = async (a: Attempt, from: number, askAhead = true) => {
    await Promise.race([a.attach(conn, from), lost]);
    // The process has exited: its sandbox is settled and its files listed while the next claim is made.
    // why not as soon as the job begins: a job claimed at the start of an hour-long build would sit in
    // running/ for that hour, behind it, out of reach of `execute` (first in the queue), `schedule
    // --replace` (a queued copy takes the new script) and the other workers (unless one idles: take_back).
    await Promise.race([a.exited, lost]);
    // (Never while a job is held ahead: the server holds one ahead at most and ignores the request.)
    if (askAhead && welcome.pipeline && takesAnother(opts) && !asked && !ahead) {
      asked = true;
      // Not awaited: it queues before the report's lines; a lost connection fails the report below.
      conn.send({ type: 'job_requested' }).catch(() => undefined);
    }
    // Asked for before the report: the acks may come right behind job_finished.
    const ack = welcome.stored_acks ? storedAck(a.runId) : null;
    const receipt = ack && welcome.received_acks ? receivedAck(a.runId) : null;
    await a.report(conn, lost);
    if (!ack) {
      if (carry.attempt === a) carry.attempt = null;
      return void (await a.cleanup());
    }
    // Until the server has stored the result, the attempt is kept: a connection lost meanwhile
    // (the server crashed while storing) is reconnected and the run resumed and reported again,
    // so the job does not run a second time. Once job_received says the server has read the
    // report (the run sent ahead is its worker's current run now, held for a resume if the
    // connection drops), the next job may begin while this one is stored: it waits for its
    // job_stored beside it, and the one before it must have had its own by then (two at most).
    if (receipt) await Promise.race([receipt, lost]);
    await storing;
    carry.reported = a;
    if (carry.attempt === a) carry.attempt = null;
    const settled = Promise.race([ack, lost]).then(async (m) => {
      if (m.error) log('warn', `the server did not store ${a.job.name}: ${m.error}`, a.runId);
      carry.reported = null;
      await a.cleanup();
    });
    settled.catch(() => undefined);
    storing = settled;
    if (!receipt) await storing;
  };
  /**
   * The next job to run: one the reader started already (it came while none
   * was carried), else the one held ahead (begun now), else one asked for
   * (unless a request is out already) and waited for.
   */
  const nextJob = async (): Promise<Attempt> => {
    for (;;) {
      if (carry.attempt) return carry.attempt;
      if (ahead) {
        const m = ahead;
        ahead = null;
        return (carry.attempt = new Attempt(m.run_id, m.job, m.attempt, opts));
      }
      const request = asked ? null : { type: 'job_requested' };
      asked = true;
      const got = await ask(request);
      if (got instanceof Error) throw got;
    }
  };
  /**
   * Resumes one carried run on this connection: `resumed` resends what the
   * server lacks and reports it (again); `run_gone` kills and discards it.
   * The older reported run goes first: once its report is read, the server
   * holds no run for this worker, so it takes the resume of the next one.
   */
  const resumeHeld = async (held: Attempt, slot: 'reported' | 'attempt') => {
    if (!held.credential) throw new BuilderError('connection_lost', `cannot resume ${held.job.name} without an attempt credential`);
    const r = await ask({ type: 'resume', run_id: held.runId, attempt: held.credential });
    if (r instanceof Error) throw r;
    if (r.type === 'run_gone') {
      log('warn', `the server gave up ${held.job.name} (${r.reason}): killing it and discarding its output`, held.runId);
      carry[slot] = null;
      await held.discard(r.reason);
      if (!opts.loop) throw new BuilderError('run_gone', `the server gave up ${held.job.name} while this worker was away (${r.reason}); it was killed here`);
    } else if (r.type === 'resumed') {
      log('info', `resumed ${held.job.name} (the server has its first ${r.from} lines)`, held.runId);
      // A reported run is reported again and stays carried until its job_stored; no job is asked for ahead of the running one.
      await finish(held, r.from, slot === 'attempt');
      ran = true;
    }
  };
  try {
    if (carry.reported) await resumeHeld(carry.reported, 'reported');
    if (carry.attempt) await resumeHeld(carry.attempt, 'attempt');
    // Draining: no job is asked for, but one the server sent already is run and reported (an answer crossing
    // the hang-up, or one held ahead by an older server that takes no give_back): dropped, it would wait
    // out the grace and cost a retry.
    for (;;) {
      // Nothing to run yet: the reported run's job_stored is waited for first (so that an idle worker carries
      // nothing when it asks again or drains), unless a job comes meanwhile: the reader began it, it is run.
      if (!ahead && !carry.attempt) await Promise.race([storing, jobCame()]);
      if (!((mayBegin() && !opts.drain?.aborted) || ahead || carry.attempt)) break;
      await finish(await nextJob(), 0);
      ran = true;
    }
    await storing;
    await conn.send({ type: 'heartbeat' });
    conn.close();
    await conn.closed;
    return ran;
  } finally {
    opts.stop?.removeEventListener('abort', onStop);
    opts.drain?.removeEventListener('abort', onDrain);
    clearInterval(beat);
    conn.destroy();
    await reader;
  }
}
