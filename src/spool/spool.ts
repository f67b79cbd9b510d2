import { closeSync, mkdirSync, openSync, promises as fs, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BuilderError, reason } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { openArtifactFile, type ArtifactWriter } from './artifact-file.js';
import { fsyncFd } from './dir-sync.js';
import { atomicWriteDone, placeSynced, recordText, renameDurable, syncDir, writeAtomic, writeSynced } from './atomic.js';
import { parsePlatformRecord, parseQueueItem, parseResultRecord, parseRunRecord, parseScheduleEntry } from './parse.js';
import { lockSpool, type SpoolLock } from './lock.js';
import { confineArtifactPath, mkdirConfined } from './paths.js';
import type { PlatformRecord, QueueItem, ResultRecord, RunRecord, ScheduleEntry } from './records.js';

/** A queued job as listed: its file name (which orders the queue) and its record. */
export interface QueuedFile {
  file: string;
  item: QueueItem;
}

/** A hand-edited file that does not parse is quarantined only once it was left alone this long (ms). */
export const QUIET_MS = 1000;

const SUBDIRS = ['tmp', 'schedule', 'queue', 'running', 'results', 'platforms', 'quarantine', 'groups'] as const;

/**
 * The spool: the only code that touches persistent state. Every record is
 * written to tmp/, fsynced, renamed into place and its directory fsynced.
 * A record that does not parse is moved to quarantine/ with a log line.
 */
export class Spool {
  private readonly unsettled = new Set<string>();
  /** results/<name>/ directories this process made or found (see ensureJobDir). */
  private readonly jobDirs = new Map<string, Promise<void>>();
  /** Told of a hand-edited record that failed to parse while still fresh, and when to read it again (ms). */
  onSettling: ((rel: string, afterMs: number) => void) | null = null;

  private constructor(readonly dir: string) {}

  /** Opens (creating if needed) the spool at `dir` and sweeps tmp/ leftovers of torn writes (no lock: for tools and tests). */
  static async open(dir: string): Promise<Spool> {
    const spool = new Spool(dir);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await spool.prepare();
    return spool;
  }

  /**
   * Creates the spool directory if needed and takes its lock (one server per
   * spool, see lock.ts) before anything in it is read or written; the caller
   * then calls `prepare`. Throws BuilderError('spool_locked') naming the holder.
   */
  static async lock(dir: string): Promise<{ spool: Spool; lock: SpoolLock }> {
    try {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new BuilderError('spool_open', `cannot create the spool ${dir}: ${reason(e)} (check --dir and its permissions)`, { cause: e });
    }
    const lock = await lockSpool(dir);
    return { spool: new Spool(dir), lock };
  }

  /** Creates the spool's subdirectories and sweeps tmp/ leftovers of torn writes. */
  async prepare(): Promise<void> {
    for (const sub of SUBDIRS) await fs.mkdir(join(this.dir, sub), { recursive: true });
    await syncDir(this.dir);
    for (const name of await fs.readdir(this.path('tmp'))) {
      log('warn', `spool: swept torn write tmp/${name}`);
      await fs.rm(this.path('tmp', name), { recursive: true, force: true });
    }
  }

  /** A path inside the spool. */
  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  private write(rel: string[], value: unknown): Promise<void> {
    return writeAtomic(this.path('tmp'), this.path(...rel), recordText(value));
  }

  /** Moves an unreadable file aside to quarantine/ with a `.reason` beside it; never deletes it. */
  async quarantine(rel: string, why: string): Promise<void> {
    const flat = `${new Date().toISOString().replace(/[:.]/g, '-')}-${rel.replace(/\//g, '_')}`;
    log('error', `spool: ${rel}: ${why}; moved to quarantine/${flat}`);
    try {
      await renameDurable(this.path(rel), this.path('quarantine', flat));
      await this.write(['quarantine', `${flat}.reason`], { version: 1, file: rel, reason: why });
    } catch (e) {
      log('error', `spool: cannot quarantine ${rel}: ${reason(e)}`);
    }
  }

  /**
   * Reads and parses one record (for the spool's own record modules too, e.g.
   * groups.ts); null when it is gone. One that does not
   * parse is quarantined, except (with `settle`, for the directories
   * operators edit by hand) while it was modified less than QUIET_MS ago: an
   * editor may be half-way through writing it. It then counts as absent for
   * now, `settling(rel)` is true, and `onSettling` is told to read it again
   * later (the spool watcher does).
   */
  async readRecord<T>(rel: string, parse: (text: string, what: string) => T, settle = false, small = false): Promise<T | null> {
    let text: string;
    try {
      // `small`: a record on the hot path (a claim's queue file) is read on the main thread (dir-sync.ts fsyncFd says why).
      text = small ? readFileSync(this.path(rel), 'utf8') : await fs.readFile(this.path(rel), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    try {
      const v = parse(text, rel);
      this.unsettled.delete(rel);
      return v;
    } catch (e) {
      if (settle && this.onSettling) {
        const age = await fs.stat(this.path(rel)).then((st) => Date.now() - st.mtimeMs, () => Infinity);
        if (age < QUIET_MS) {
          this.unsettled.add(rel);
          this.onSettling(rel, QUIET_MS - age);
          return null;
        }
      }
      this.unsettled.delete(rel);
      await this.quarantine(rel, reason(e));
      return null;
    }
  }

  /** Whether a hand-edited record failed to parse but is still being written (see readRecord). */
  settling(rel: string): boolean {
    return this.unsettled.has(rel);
  }

  private async names(rel: string, suffix = '.json'): Promise<string[]> {
    try {
      return (await fs.readdir(this.path(rel))).filter((n) => n.endsWith(suffix) && !n.startsWith('.')).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  // --- schedule/<name>.json

  /** Every schedule entry (bad ones quarantined). */
  async listSchedule(): Promise<ScheduleEntry[]> {
    const out: ScheduleEntry[] = [];
    for (const f of await this.names('schedule')) {
      const e = await this.readSchedule(f.slice(0, -5));
      if (e) out.push(e);
    }
    return out;
  }

  /** One schedule entry, null when absent (or quarantined). A file whose name disagrees with its content is quarantined. */
  async readSchedule(name: string): Promise<ScheduleEntry | null> {
    return this.readRecord(
      `schedule/${name}.json`,
      (text, what) => {
        const e = parseScheduleEntry(text, what);
        if (e.name !== name) throw new BuilderError('bad_record', `${what}: name "${e.name}" does not match the file name`);
        return e;
      },
      true,
    );
  }

  /** Writes a schedule entry. */
  putSchedule(e: ScheduleEntry): Promise<void> {
    return this.write(['schedule', `${e.name}.json`], e);
  }

  /** Removes a schedule entry; false when there was none. */
  async removeSchedule(name: string): Promise<boolean> {
    return this.unlink(this.path('schedule', `${name}.json`));
  }

  private async unlink(p: string): Promise<boolean> {
    try {
      await fs.unlink(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
    await syncDir(join(p, '..'));
    return true;
  }

  // --- queue/<platform>/<order>-<name>.json

  /** Platforms that have a queue directory. */
  async queuePlatforms(): Promise<string[]> {
    return (await fs.readdir(this.path('queue'), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  }

  /** File names in a platform's queue, in queue order (file name order). */
  queueFiles(platform: string): Promise<string[]> {
    return this.names(`queue/${platform}`);
  }

  /** Reads one queued job; null when it is gone (claimed, removed) or was quarantined. */
  readQueued(platform: string, file: string): Promise<QueueItem | null> {
    return this.readRecord(`queue/${platform}/${file}`, (text, what) => parseQueueItem(text, what, platform), true);
  }

  /** Writes a job into its platform's queue under `file` (the queue module names it: the name orders the queue). */
  async putQueued(file: string, item: QueueItem): Promise<void> {
    const platform = item.job.platform;
    if (await fs.mkdir(this.path('queue', platform), { recursive: true })) await syncDir(this.path('queue'));
    await this.write(['queue', platform, file], item);
  }

  /** Removes a queued job; false when it was already gone. */
  removeQueued(platform: string, file: string): Promise<boolean> {
    return this.unlink(this.path('queue', platform, file));
  }

  /**
   * Claims a queued job for a new run: the queue file is renamed into
   * running/<run-id>/job.json (ENOENT means it was removed meanwhile: null),
   * then the run record is written beside it.
   */
  async claim(platform: string, file: string, runRecord: (item: QueueItem) => RunRecord): Promise<RunRecord | null> {
    // One read: the record, and whether its text names its platform (a hand-dropped file may not).
    let named = true;
    const item = await this.readRecord(
      `queue/${platform}/${file}`,
      (text, what) => {
        const parsed = parseQueueItem(text, what, platform);
        named = (JSON.parse(text) as { job?: { platform?: unknown } }).job?.platform === platform;
        return parsed;
      },
      true,
      true,
    );
    if (!item) return null;
    // A hand-dropped file may lack job.platform (its directory gives it): write it in, so that
    // running/<id>/job.json alone (a crash before run.json) still says where to requeue it.
    if (!named) await this.write(['queue', platform, file], item);
    const record = runRecord(item);
    const runDir = this.path('running', record.run_id);
    // Work done ahead: the job's results/ directory, needed only when the run is stored (its
    // creation and the fsync of results/ are off the store's path, and overlap this claim).
    const jobDir = this.ensureJobDir(record.job.name);
    jobDir.catch(() => undefined);
    // Crash safety, in two rounds of fsyncs that each run side by side:
    //   1. the new running/<id> (so it survives a power cut before anything moves into it) and
    //      run.json's bytes in a temp file (so the record is never torn) are independent;
    //   2. then the queue file is renamed into running/<id>/job.json and run.json beside it,
    //      and the queue directory (the job leaving it) and running/<id> (both renames into
    //      it at once) are fsynced.
    // Until the second round returns, nobody is told of the claim (the job is not sent). A
    // rename is atomic across a crash, so the states a crash can leave are: the job still
    // queued (with perhaps an empty running/<id>, removed at start, or a run.json alone, kept
    // as an interrupted result while the job waits on); job.json alone in running/<id>
    // (requeued at start, see load.ts recoverRun); or job.json with run.json (recorded as
    // interrupted and requeued).
    const runText = recordText(record);
    const started = performance.now();
    // why sync: metadata steps of microseconds on the claim's path, each spared a thread-pool trip (dir-sync.ts fsyncFd).
    mkdirSync(runDir);
    const [made, written] = await Promise.allSettled([syncDir(this.path('running')), writeSynced(this.path('tmp'), runText)]);
    const tmp = written.status === 'fulfilled' ? written.value : null;
    const giveUp = async () => {
      if (tmp) rmSync(tmp, { force: true });
      await fs.rm(runDir, { recursive: true, force: true });
    };
    if (made.status === 'rejected' || !tmp) {
      await giveUp();
      throw made.status === 'rejected' ? made.reason : (written as PromiseRejectedResult).reason;
    }
    try {
      renameSync(this.path('queue', platform, file), join(runDir, 'job.json'));
    } catch (e) {
      await giveUp();
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    try {
      renameSync(tmp, join(runDir, 'run.json'));
      await Promise.all([syncDir(this.path('queue', platform)), syncDir(runDir)]);
    } catch (e) {
      // The run never started: the job goes back to its queue under its old name, so it is
      // neither stranded in running/ nor lost. If even that fails, job.json alone in
      // running/<id> is requeued at the next start.
      rmSync(tmp, { force: true });
      await fs.rename(join(runDir, 'job.json'), this.path('queue', platform, file)).then(
        () => fs.rm(runDir, { recursive: true, force: true }),
        (undo: unknown) => log('error', `spool: cannot put running/${record.run_id}/job.json back to queue/${platform}/${file}: ${reason(undo)}; requeued at the next start`),
      );
      throw e;
    }
    atomicWriteDone(started);
    return record;
  }

  /**
   * Creates results/<name>/ (durably: results/ is fsynced when it was
   * created) once per job name and process; later calls share the first.
   * A failure is forgotten, so the next call tries again.
   */
  private ensureJobDir(name: string): Promise<void> {
    let p = this.jobDirs.get(name);
    if (!p) {
      p = (async () => {
        if (await fs.mkdir(this.path('results', name), { recursive: true })) await syncDir(this.path('results'));
      })();
      this.jobDirs.set(name, p);
      p.catch(() => this.jobDirs.delete(name));
    }
    return p;
  }

  // --- running/<run-id>/

  /** Run ids with a directory under running/. */
  async runningIds(): Promise<string[]> {
    return (await fs.readdir(this.path('running'))).sort();
  }

  /** What a running directory holds, for recovery at start-up. */
  async readRunning(runId: string): Promise<{ job: QueueItem | null; run: RunRecord | null; result: ResultRecord | null }> {
    const rel = `running/${runId}`;
    const run = await this.readRecord(`${rel}/run.json`, parseRunRecord);
    // The platform is the queue directory's, recorded in run.json (and written into job.json at the claim).
    const job = await this.readRecord(`${rel}/job.json`, (t, w) => {
      const o = JSON.parse(t) as { job?: { platform?: string } };
      return parseQueueItem(t, w, run?.job.platform ?? String(o.job?.platform ?? ''));
    });
    const result = await this.readRecord(`${rel}/result.json`, parseResultRecord);
    return { job, run, result };
  }

  /** The console file of a run in progress. */
  consolePath(runId: string): string {
    return this.path('running', runId, 'console.ndjson');
  }

  /** Opens a write stream for one artifact of a running run; the path is confined to the run's artifacts/ directory. */
  async openArtifact(runId: string, relPath: string, mode: number): Promise<{ path: string; stream: ArtifactWriter }> {
    const rel = confineArtifactPath(relPath);
    const base = this.path('running', runId, 'artifacts');
    const full = join(base, rel);
    await mkdirConfined(base, rel);
    const stream = await openArtifactFile(full, (mode & 0o777) | 0o600);
    return { path: rel, stream };
  }

  /** Removes one artifact file of a running run (it could not be stored whole). */
  async dropArtifact(runId: string, relPath: string): Promise<void> {
    await fs.rm(join(this.path('running', runId, 'artifacts'), confineArtifactPath(relPath)), { force: true });
  }

  /** Removes every artifact of a running run (a lost attempt: they may be partial). */
  async dropArtifacts(runId: string): Promise<void> {
    await fs.rm(this.path('running', runId, 'artifacts'), { recursive: true, force: true });
    await syncDir(this.path('running', runId));
  }

  /** Removes a run's upload outbox record, if any (an interrupted attempt is not uploaded). */
  async forgetUpload(runId: string): Promise<void> {
    await this.unlink(this.path('outbox', `${runId}.json`));
  }

  /** Forgets the job.json of a run (it was requeued). */
  async dropRunJob(runId: string): Promise<void> {
    await this.unlink(this.path('running', runId, 'job.json'));
  }

  /** Forgets the run record of a run that never began (its job goes back to the queue): job.json alone is requeued at start. */
  async dropRunRecord(runId: string): Promise<void> {
    await this.unlink(this.path('running', runId, 'run.json'));
  }

  /** Removes a running directory that never started (no run record). */
  async removeRunning(runId: string): Promise<void> {
    await fs.rm(this.path('running', runId), { recursive: true, force: true });
    await syncDir(this.path('running'));
  }

  /**
   * Stores a finished run: result.json is written into running/<run-id>/,
   * then the whole directory is renamed to results/<job>/<run-id>/. A crash
   * between the two is completed at start-up by `completeFinish`.
   */
  async finishRun(result: ResultRecord): Promise<string> {
    const runDir = this.path('running', result.run_id);
    // Crash safety: the console, the artifacts and result.json's own bytes are
    // independent files, fsynced side by side; result.json is renamed into
    // place (its name making the run "finished" for recovery) only after all
    // of them are on disk, so artifacts are durable before the result that lists them.
    const started = performance.now();
    const [, , tmp] = await Promise.all([
      syncFile(join(runDir, 'console.ndjson')),
      syncTree(join(runDir, 'artifacts')),
      writeSynced(this.path('tmp'), recordText(result)),
    ]);
    await placeSynced(tmp, join(runDir, 'result.json'));
    atomicWriteDone(started);
    return this.completeFinish(result);
  }

  /** Moves a run directory that already holds its result.json into results/. */
  async completeFinish(result: ResultRecord): Promise<string> {
    const jobDir = this.path('results', result.job.name);
    // Usually made at the claim already (ensureJobDir): then no syscall here.
    await this.ensureJobDir(result.job.name);
    const to = join(jobDir, result.run_id);
    try {
      renameSync(this.path('running', result.run_id), to);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !(await fs.access(this.path('running', result.run_id)).then(() => true, () => false))) throw e;
      // results/<name>/ was removed by hand since this process made it: made again, and the rename retried.
      this.jobDirs.delete(result.job.name);
      await this.ensureJobDir(result.job.name);
      await fs.rename(this.path('running', result.run_id), to);
    }
    // Crash safety: the rename is atomic; the two directory fsyncs only make it
    // durable before we report the run stored, and do not depend on each other.
    await Promise.all([syncDir(jobDir), syncDir(this.path('running'))]);
    return to;
  }

  // --- results/<job>/<run-id>/

  /** Every stored result as (job name, run id), unordered. */
  async resultIds(): Promise<{ name: string; runId: string }[]> {
    const out: { name: string; runId: string }[] = [];
    for (const name of await fs.readdir(this.path('results'))) {
      for (const runId of await fs.readdir(this.path('results', name)).catch(() => [])) out.push({ name, runId });
    }
    return out;
  }

  /** Every stored result of one job, oldest first (by start time). */
  async listResultsOf(name: string): Promise<ResultRecord[]> {
    const ids = await fs.readdir(this.path('results', name)).catch(() => [] as string[]);
    const out: ResultRecord[] = [];
    for (const id of ids) {
      const r = await this.readResult(name, id);
      if (r) out.push(r);
    }
    return out.sort((a, b) => a.started.localeCompare(b.started));
  }

  /** Removes a stored result: renamed into tmp/ (atomic), then deleted. */
  async removeResult(name: string, runId: string): Promise<void> {
    const doomed = this.path('tmp', `removed-${runId}`);
    await renameDurable(this.path('results', name, runId), doomed);
    await fs.rm(doomed, { recursive: true, force: true });
  }

  /** The directory of a stored result. */
  resultDir(name: string, runId: string): string {
    return this.path('results', name, runId);
  }

  /** Reads a stored result. */
  readResult(name: string, runId: string): Promise<ResultRecord | null> {
    return this.readRecord(`results/${name}/${runId}/result.json`, parseResultRecord);
  }

  // --- platforms/<platform>.json

  /** Every platform record. */
  async listPlatforms(): Promise<PlatformRecord[]> {
    const out: PlatformRecord[] = [];
    for (const f of await this.names('platforms')) {
      const p = await this.readRecord(`platforms/${f}`, parsePlatformRecord);
      if (p) out.push(p);
    }
    return out;
  }

  /** Writes a platform record. */
  putPlatform(p: PlatformRecord): Promise<void> {
    return this.write(['platforms', `${p.platform}.json`], p);
  }
}

/** fsyncs every file and directory under `dir` (absent: nothing to do). */
async function syncTree(dir: string): Promise<void> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  for (const d of entries) {
    if (d.isDirectory()) await syncTree(join(dir, d.name));
    else if (d.isFile()) await syncFile(join(dir, d.name));
  }
  await syncDir(dir);
}

async function syncFile(path: string): Promise<void> {
  let fd: number;
  try {
    // Opened and closed on the main thread, fsynced on the thread pool (dir-sync.ts fsyncFd says why).
    fd = openSync(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}
