/** The results index: one summary line per stored result in result-index.ndjson, so listing, latest and retention never read every result.json. */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { reason } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { writeAtomic } from './atomic.js';
import type { Outcome } from '../protocol/types.js';
import type { ResultRecord } from './records.js';

/** What the index keeps of a stored result: what `results` lists and what retention and observe-latest choose by. */
export interface IndexEntry {
  run_id: string;
  name: string;
  platform: string;
  started: string;
  finished: string;
  outcome: Outcome;
  artifacts: number;
  size: number;
}

export const INDEX_FILE = 'result-index.ndjson';

/** The index entry of a result record. */
export function indexEntryOf(r: ResultRecord): IndexEntry {
  return {
    run_id: r.run_id,
    name: r.job.name,
    platform: r.job.platform,
    started: r.started,
    finished: r.finished,
    outcome: r.outcome,
    artifacts: r.artifacts.length,
    size: r.artifacts.reduce((n, a) => n + a.size, 0),
  };
}

function isEntry(o: unknown): o is IndexEntry {
  const e = o as IndexEntry;
  return typeof e === 'object' && e !== null && typeof e.run_id === 'string' && typeof e.name === 'string' && typeof e.platform === 'string'
    && typeof e.started === 'string' && typeof e.finished === 'string' && typeof e.outcome === 'object' && e.outcome !== null
    && typeof e.artifacts === 'number' && typeof e.size === 'number';
}

/**
 * The index is derived data, never the truth: result directories are. Why
 * no fsync on append: a line lost or torn by a crash only makes the index
 * stale, and `open` repairs it against the result directories it is given
 * (a stored result missing from the index is read from its result.json; an
 * entry whose directory is gone is dropped), then rewrites the file whole
 * when it repaired anything. A result.json edited by hand in place is not
 * noticed until the index file is removed (it is then rebuilt).
 */
export class ResultIndex {
  /** Entries by finish time, oldest first. */
  private byFinished: IndexEntry[] = [];
  private byId = new Map<string, IndexEntry>();
  private byName = new Map<string, Set<string>>();
  private appending: Promise<void> = Promise.resolve();

  private readonly file: string;

  private constructor(private readonly dir: string) {
    this.file = join(dir, INDEX_FILE);
  }

  /**
   * Reads the index of the spool at `dir` and repairs it against `stored`
   * (run id -> job name of every result directory), reading with `read` the
   * result.json of each stored result it lacks.
   */
  static async open(dir: string, stored: ReadonlyMap<string, string>, read: (name: string, runId: string) => Promise<ResultRecord | null>): Promise<ResultIndex> {
    const index = new ResultIndex(dir);
    let text = '';
    try {
      text = await fs.readFile(index.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log('warn', `spool: cannot read ${INDEX_FILE}: ${reason(e)}; rebuilding it`);
    }
    let repaired = text === '';
    const loaded: IndexEntry[] = [];
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let o: unknown;
      try {
        o = JSON.parse(line);
      } catch {
        repaired = true; // a line torn by a crash
        continue;
      }
      if (typeof (o as { gone?: unknown }).gone === 'string') {
        index.byId.delete((o as { gone: string }).gone);
        repaired = true;
      } else if (isEntry(o)) index.byId.set(o.run_id, o);
      else repaired = true;
    }
    for (const [id, e] of index.byId)
      if (stored.get(id) !== e.name) {
        index.byId.delete(id);
        repaired = true;
      }
    for (const [id, name] of stored) {
      if (index.byId.has(id)) continue;
      repaired = true;
      const r = await read(name, id).catch(() => null);
      if (r) index.byId.set(id, indexEntryOf(r));
    }
    for (const e of index.byId.values()) loaded.push(e);
    loaded.sort((a, b) => a.finished.localeCompare(b.finished));
    index.byFinished = loaded;
    for (const e of loaded) index.nameSet(e.name).add(e.run_id);
    if (repaired) await index.rewrite();
    return index;
  }

  private nameSet(name: string): Set<string> {
    let s = this.byName.get(name);
    if (!s) this.byName.set(name, (s = new Set()));
    return s;
  }

  /** Rewrites the file from memory (atomically, through the spool's tmp/). */
  private async rewrite(): Promise<void> {
    const text = this.byFinished.map((e) => `${JSON.stringify(e)}\n`).join('');
    try {
      await writeAtomic(join(this.dir, 'tmp'), this.file, text);
    } catch (e) {
      log('warn', `spool: cannot rewrite ${INDEX_FILE}: ${reason(e)}; it is repaired at the next start`);
    }
  }

  /** Kept open for appends: one write per stored run instead of an open, a write and a close. */
  private handle: fs.FileHandle | null = null;

  private append(line: string): void {
    this.appending = this.appending.then(async () => {
      try {
        this.handle ??= await fs.open(this.file, 'a');
        await this.handle.write(line);
      } catch (e) {
        log('warn', `spool: cannot append to ${INDEX_FILE}: ${reason(e)}; it is repaired at the next start`);
      }
    });
  }

  /** Adds a stored result (again: a no-op). */
  add(r: ResultRecord): void {
    if (this.byId.has(r.run_id)) return;
    const e = indexEntryOf(r);
    this.byId.set(e.run_id, e);
    this.nameSet(e.name).add(e.run_id);
    // Runs finish almost in order: search from the end.
    let i = this.byFinished.length;
    while (i > 0 && this.byFinished[i - 1]!.finished > e.finished) i--;
    this.byFinished.splice(i, 0, e);
    this.append(`${JSON.stringify(e)}\n`);
  }

  /** Forgets a removed result. */
  remove(runId: string): void {
    const e = this.byId.get(runId);
    if (!e) return;
    this.byId.delete(runId);
    this.byName.get(e.name)?.delete(runId);
    const i = this.byFinished.lastIndexOf(e);
    if (i >= 0) this.byFinished.splice(i, 1);
    this.append(`${JSON.stringify({ gone: runId })}\n`);
  }

  /** Up to `limit` entries that `keep` accepts, newest finished first. */
  newest(limit: number, keep: (e: IndexEntry) => boolean = () => true): IndexEntry[] {
    const out: IndexEntry[] = [];
    for (let i = this.byFinished.length - 1; i >= 0 && out.length < limit; i--) if (keep(this.byFinished[i]!)) out.push(this.byFinished[i]!);
    return out;
  }

  /** The entry that `keep` accepts with the latest start time. */
  latestStarted(keep: (e: IndexEntry) => boolean): IndexEntry | null {
    let best: IndexEntry | null = null;
    for (let i = this.byFinished.length - 1; i >= 0; i--) {
      const e = this.byFinished[i]!;
      // A run starts before it finishes: nothing further back can have started later.
      if (best && e.finished < best.started) break;
      if (keep(e) && (!best || e.started > best.started)) best = e;
    }
    return best;
  }

  /** Every entry of one job, oldest started first. */
  ofJob(name: string): IndexEntry[] {
    const ids = this.byName.get(name);
    if (!ids) return [];
    return [...ids].map((id) => this.byId.get(id)!).sort((a, b) => a.started.localeCompare(b.started));
  }

  /** Whether a run is in the index. */
  has(runId: string): boolean {
    return this.byId.has(runId);
  }

  /** A run's entry, if it is in the index. */
  get(runId: string): IndexEntry | undefined {
    return this.byId.get(runId);
  }
}
