import { BuilderError, reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { Outbox, type OutboxRecord } from '../../spool/outbox.js';
import type { ResultRecord } from '../../spool/records.js';
import { encodeExec } from '../../upload/exec-encode.js';
import { readStoredRun } from '../../upload/exec-run.js';
import { postExec, type UploadTarget } from '../../upload/http-post.js';
import type { ServerState } from '../core/state.js';

// After a run is stored: optionally write its DER blob beside it
// (--save-format der), and with --upload put it in the outbox, from which
// one upload at a time is attempted, earliest due first.
//
// What an answer means (the record's retry state is persisted each time):
//   2xx, 409 (builder-web has that UUID)  delivered: record removed, and the
//                                         local copy too unless --keep-local
//   refused / broken connection, timeout  the receiver is away: back-off, never dead-lettered
//   400, 5xx                              refused: back-off; after --upload-max-failures in a row, dead-letter
//   401, 403, 407                         credentials problem: loud error, slow retry
//   404, 405                              wrong URL: loud error, slow retry (would dead-letter every run)
//   408, 429                              receiver busy: back-off
//   any other 4xx (413, 422, ...)         this body is refused for good: dead-letter
//   stored result unreadable              dead-letter (with the reason; the result stays where it is)

/** The upload settings from the command line. */
export interface UploadConfig {
  target: UploadTarget | null;
  keepLocal: boolean;
  saveDer: boolean;
  /** First retry delay; doubles per attempt up to 120 times this (5 s -> 10 min by default). */
  backoffMs: number;
  /** Consecutive 400/5xx answers after which a run goes to dead-letter/. */
  maxFailures: number;
  /** An upload with no progress for this long is abandoned and retried. */
  idleMs: number;
}

/** Defaults when no upload flag is given. */
export const NO_UPLOAD: UploadConfig = { target: null, keepLocal: true, saveDer: false, backoffMs: 5000, maxFailures: 10, idleMs: 60_000 };

const uploaders = new WeakMap<ServerState, Uploader>();

/**
 * Opens the outbox and, with --upload, resumes delivering what it holds.
 * Subscribes to the core: a final run's outbox record is written while it is
 * being stored (run_storing), its upload starts once it is (run_stored).
 */
export async function startUploads(state: ServerState, config: UploadConfig): Promise<() => void> {
  const uploader = new Uploader(state, await Outbox.open(state.spool), config);
  uploaders.set(state, uploader);
  const prepared = new Map<string, OutboxRecord | null>();
  const offStoring = state.events.on('run_storing', async ({ result, final }) => {
    if (final) prepared.set(result.run_id, await beforeRunStored(state, result));
  });
  const offStored = state.events.on('run_stored', ({ result, where, final }) => {
    if (!final) return;
    const queued = prepared.get(result.run_id) ?? null;
    prepared.delete(result.run_id);
    void afterRunStored(state, result, where, queued);
  });
  const offEnded = state.events.on('run_ended', ({ runId }) => void prepared.delete(runId));
  if (config.target) {
    const waiting = await uploader.resume();
    log('info', `uploading finished runs to ${config.target.shown}${config.keepLocal ? ' (keeping local copies)' : ''}; ${waiting} waiting in the outbox`);
  }
  return () => {
    offStoring();
    offStored();
    offEnded();
    uploader.stop();
  };
}

/**
 * Called just before a final run is stored: with --upload, its outbox record
 * is written first, so that a crash right after the result lands in results/
 * cannot lose its upload (a crash before it lands is recovered as an
 * interrupted attempt, whose record load.ts drops). Never throws.
 */
async function beforeRunStored(state: ServerState, result: ResultRecord): Promise<OutboxRecord | null> {
  const uploader = uploaders.get(state);
  if (!uploader) return null;
  try {
    return await uploader.prepare(result);
  } catch (e) {
    log('error', `cannot queue the upload of ${result.job.name}: ${reason(e)}; it is stored locally only`, result.run_id);
    return null;
  }
}

/** Called once a run is stored in results/: saves its DER blob and starts its upload, as configured. Never throws. */
async function afterRunStored(state: ServerState, result: ResultRecord, resultDir: string, queued: OutboxRecord | null): Promise<void> {
  const uploader = uploaders.get(state);
  if (!uploader) return;
  try {
    await uploader.stored(result, resultDir, queued);
  } catch (e) {
    log('error', `cannot save the DER blob of ${result.job.name} in ${resultDir}: ${reason(e)}`, result.run_id);
  }
}

/** Outbox and dead-letter sizes for `info`, with the masked upload URL. */
export async function uploadInfo(state: ServerState): Promise<{ url: string | null; outbox: number; dead_letter: number } | undefined> {
  const uploader = uploaders.get(state);
  if (!uploader) return undefined;
  return { url: uploader.config.target?.shown ?? null, ...(await uploader.outbox.sizes()) };
}

/** What the status page's upload panel shows: the target, counts, the next few waiting runs and the newest dead letters. */
export interface UploadPanel {
  url: string | null;
  outbox: number;
  dead_letter: number;
  waiting: Pick<OutboxRecord, 'run_id' | 'job' | 'attempts' | 'next_attempt' | 'last_error'>[];
  dead: Pick<OutboxRecord, 'run_id' | 'job' | 'attempts' | 'dead_reason'>[];
}

/** The upload panel's facts (`limit` entries of each list), or undefined before uploads started. */
export async function uploadPanel(state: ServerState, limit = 10): Promise<UploadPanel | undefined> {
  const uploader = uploaders.get(state);
  if (!uploader) return undefined;
  const sizes = await uploader.outbox.sizes();
  const waiting = uploader.waiting().slice(0, limit).map(({ run_id, job, attempts, next_attempt, last_error }) => ({ run_id, job, attempts, next_attempt, last_error }));
  const dead = (await uploader.outbox.listDead(limit)).map(({ run_id, job, attempts, dead_reason }) => ({ run_id, job, attempts, dead_reason }));
  return { url: uploader.config.target?.shown ?? null, ...sizes, waiting, dead };
}

class Uploader {
  private readonly pending = new Map<string, OutboxRecord>();
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly state: ServerState,
    readonly outbox: Outbox,
    readonly config: UploadConfig,
  ) {}

  /** Runs waiting in the outbox, next attempt first. */
  waiting(): OutboxRecord[] {
    return [...this.pending.values()].sort((a, b) => Date.parse(a.next_attempt) - Date.parse(b.next_attempt));
  }

  async resume(): Promise<number> {
    for (const rec of await this.outbox.list()) {
      if (await this.outbox.isBuried(rec.run_id)) {
        // The server stopped in the middle of burying it: finish that, it is no take-back.
        await this.outbox.remove(rec.run_id);
        log('info', `upload of ${rec.job}: finished moving it to dead-letter/ (interrupted by a restart)`, rec.run_id);
        continue;
      }
      if (rec.dead_reason !== undefined) {
        // An operator moved it back from dead-letter/: a fresh start, not one more refusal.
        log('info', `upload of ${rec.job} taken back from dead-letter (was: ${rec.dead_reason})`, rec.run_id);
        delete rec.dead_reason;
        rec.failures = 0;
        rec.next_attempt = new Date().toISOString();
        await this.outbox.put(rec);
      }
      this.pending.set(rec.run_id, rec);
    }
    this.kick();
    return this.pending.size;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // The record stays in the outbox: the next start retries it.
    this.abort.abort();
  }

  /** Writes the outbox record of a run about to be stored in results/<job>/<run-id>/ (with --upload). */
  async prepare(result: ResultRecord): Promise<OutboxRecord | null> {
    if (!this.config.target) return null;
    const now = new Date().toISOString();
    const rec: OutboxRecord = {
      version: 1,
      run_id: result.run_id,
      job: result.job.name,
      result: `results/${result.job.name}/${result.run_id}`,
      enqueued: now,
      attempts: 0,
      failures: 0,
      next_attempt: now,
      last_error: null,
    };
    await this.outbox.put(rec);
    return rec;
  }

  /** Starts the upload of a stored run (its record was written by prepare); saves run.der first with --save-format der. */
  async stored(result: ResultRecord, resultDir: string, queued: OutboxRecord | null): Promise<void> {
    try {
      if (this.config.saveDer) {
        const encoded = encodeExec(await readStoredRun(resultDir));
        await this.outbox.saveBeside(resultDir, 'run.der', encoded.body());
        log('debug', `wrote ${resultDir}/run.der (${encoded.length} bytes)`, result.run_id);
      }
    } finally {
      if (queued) {
        this.pending.set(queued.run_id, queued);
        this.kick();
      }
    }
  }

  /** Uploads the earliest due record, one at a time; otherwise sleeps until the next one is due. */
  private kick(): void {
    if (this.busy || this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const next = [...this.pending.values()].sort((a, b) => Date.parse(a.next_attempt) - Date.parse(b.next_attempt))[0];
    if (!next) return;
    const wait = Date.parse(next.next_attempt) - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => this.kick(), Math.min(wait, 2 ** 31 - 1));
      return;
    }
    this.busy = true;
    void this.attempt(next)
      .catch((e: unknown) => log('error', `upload of ${next.job}: ${reason(e)}; retried at the next start`, next.run_id))
      .finally(() => {
        this.busy = false;
        this.kick();
      });
  }

  private async attempt(rec: OutboxRecord): Promise<void> {
    const target = this.config.target!;
    rec.attempts++;
    let encoded;
    try {
      encoded = encodeExec(await readStoredRun(this.state.spool.path(rec.result)));
    } catch (e) {
      return this.bury(rec, `the stored result ${rec.result} cannot be read: ${reason(e)}`);
    }
    let status: number;
    let detail: string;
    try {
      const answer = await postExec(target, encoded, { idleMs: this.config.idleMs, signal: this.abort.signal });
      status = answer.status;
      detail = `HTTP ${status}${answer.body ? ` (${answer.body})` : ''}`;
    } catch (e) {
      if (this.stopped) return;
      const code = e instanceof BuilderError ? e.code : '';
      if (code === 'artifact_read' || code === 'artifact_changed') return this.bury(rec, reason(e));
      return this.retry(rec, `cannot reach ${target.shown}: ${reason(e)}`, false, 'warn');
    }
    if ((status >= 200 && status < 300) || status === 409) return this.delivered(rec, status);
    if (status === 401 || status === 403 || status === 407) {
      return this.retry(rec, `CREDENTIALS PROBLEM: ${target.shown} answered ${detail}; check the user:password in --upload`, false, 'error', true);
    }
    if (status === 404 || status === 405) {
      return this.retry(rec, `URL PROBLEM: ${target.shown} answered ${detail}; is --upload builder-web's upload URL?`, false, 'error', true);
    }
    if (status === 400 || status >= 500) {
      rec.failures++;
      if (rec.failures >= this.config.maxFailures) return this.bury(rec, `refused ${rec.failures} times in a row, last: ${detail}`);
      return this.retry(rec, `${target.shown} refused it: ${detail} (${rec.failures}/${this.config.maxFailures})`, true, 'warn');
    }
    if (status === 408 || status === 429) return this.retry(rec, `${target.shown} is busy: ${detail}`, false, 'warn');
    return this.bury(rec, `${target.shown} refused it for good: ${detail}`);
  }

  private async delivered(rec: OutboxRecord, status: number): Promise<void> {
    const how = status === 409 ? 'already there (HTTP 409)' : `HTTP ${status}`;
    await this.outbox.remove(rec.run_id);
    this.pending.delete(rec.run_id);
    log('info', `uploaded ${rec.job} to ${this.config.target!.shown}: ${how} (attempt ${rec.attempts})`, rec.run_id);
    if (this.config.keepLocal) return;
    try {
      await this.outbox.removeResult(rec.result);
      this.state.results.delete(rec.run_id);
    } catch (e) {
      log('warn', `uploaded, but cannot remove the local copy ${rec.result}: ${reason(e)}`, rec.run_id);
    }
  }

  private async retry(rec: OutboxRecord, why: string, counted: boolean, level: 'warn' | 'error', slow = false): Promise<void> {
    const cap = this.config.backoffMs * 120;
    const delay = slow ? cap : Math.min(cap, this.config.backoffMs * 2 ** Math.min(rec.attempts - 1, 30));
    if (!counted) rec.failures = 0;
    rec.last_error = why;
    rec.next_attempt = new Date(Date.now() + delay).toISOString();
    await this.outbox.put(rec);
    log(level, `upload of ${rec.job} failed (attempt ${rec.attempts}): ${why}; next attempt in ${seconds(delay)}`, rec.run_id);
  }

  private async bury(rec: OutboxRecord, why: string): Promise<void> {
    rec.last_error = why;
    await this.outbox.bury(rec, why);
    this.pending.delete(rec.run_id);
    log('error', `upload of ${rec.job} given up: ${why}; moved to dead-letter/${rec.run_id}.json (the result stays in ${rec.result})`, rec.run_id);
  }
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
