import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { BuilderError, reason } from '../shared/errors.js';
import { recordText, syncDir, writeAtomic, writeAtomicStream } from './atomic.js';
import type { Spool } from './spool.js';

// The upload outbox: one record per finished run still to be delivered to
// builder-web, in outbox/<run-id>.json, pointing at the stored result it
// uploads. The record carries the retry state (attempts, next attempt), so
// a restart resumes where the last process stopped. A run the receiver keeps
// refusing is moved, record and all, to dead-letter/<run-id>.json: never deleted.

/** outbox/<run-id>.json (and dead-letter/<run-id>.json) — one run waiting to be uploaded. */
export interface OutboxRecord {
  version: 1;
  run_id: string;
  job: string;
  /** The stored result to upload, relative to the spool: results/<job>/<run-id>. */
  result: string;
  enqueued: string;
  /** Upload attempts so far. */
  attempts: number;
  /** Consecutive refusals (HTTP 400 or 5xx) that count towards dead-lettering. */
  failures: number;
  /** RFC 3339 time of the next attempt. */
  next_attempt: string;
  last_error: string | null;
  /** Why it was moved to dead-letter/ (only there). */
  dead_reason?: string;
}

const RUN_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The outbox and dead-letter folders of a spool; all writes are atomic (tmp/, fsync, rename). */
export class Outbox {
  private constructor(private readonly spool: Spool) {}

  /** Creates outbox/ and dead-letter/ when missing. */
  static async open(spool: Spool): Promise<Outbox> {
    await fs.mkdir(spool.path('outbox'), { recursive: true });
    await fs.mkdir(spool.path('dead-letter'), { recursive: true });
    return new Outbox(spool);
  }

  /** Every record in outbox/; one that does not parse is quarantined. */
  async list(): Promise<OutboxRecord[]> {
    const out: OutboxRecord[] = [];
    for (const name of await jsonNames(this.spool.path('outbox'))) {
      const rel = `outbox/${name}`;
      try {
        out.push(parseOutboxRecord(await fs.readFile(this.spool.path(rel), 'utf8'), rel));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        await this.spool.quarantine(rel, reason(e));
      }
    }
    return out;
  }

  /** Writes (or rewrites) a record in outbox/. */
  put(rec: OutboxRecord): Promise<void> {
    return writeAtomic(this.spool.path('tmp'), this.spool.path('outbox', `${rec.run_id}.json`), recordText(rec));
  }

  /** Removes a delivered run's record. */
  async remove(runId: string): Promise<void> {
    await fs.rm(this.spool.path('outbox', `${runId}.json`), { force: true });
    await syncDir(this.spool.path('outbox'));
  }

  /**
   * Moves a record to dead-letter/ with its reason. Crash safety: the dead
   * record is written in dead-letter/ first, then the outbox record removed,
   * so it is never in neither folder; a crash between leaves it in both,
   * which `isBuried` tells apart from an operator's take-back (a record with
   * `dead_reason` moved back to outbox/, gone from dead-letter/).
   */
  async bury(rec: OutboxRecord, why: string): Promise<void> {
    const dead = { ...rec, dead_reason: why };
    await writeAtomic(this.spool.path('tmp'), this.spool.path('dead-letter', `${rec.run_id}.json`), recordText(dead));
    await this.remove(rec.run_id);
  }

  /** Whether dead-letter/ holds this run (an outbox record beside it is the rest of an interrupted burial). */
  async isBuried(runId: string): Promise<boolean> {
    return fs.access(this.spool.path('dead-letter', `${runId}.json`)).then(
      () => true,
      () => false,
    );
  }

  /** How many runs wait in outbox/ and lie in dead-letter/. */
  async sizes(): Promise<{ outbox: number; dead_letter: number }> {
    return {
      outbox: (await jsonNames(this.spool.path('outbox'))).length,
      dead_letter: (await jsonNames(this.spool.path('dead-letter'))).length,
    };
  }

  /** Up to `limit` records in dead-letter/, newest first (by file time); one that does not parse is skipped. */
  async listDead(limit: number): Promise<OutboxRecord[]> {
    const dir = this.spool.path('dead-letter');
    const names = await jsonNames(dir);
    const dated = await Promise.all(names.map(async (n) => ({ n, t: (await fs.stat(join(dir, n)).catch(() => null))?.mtimeMs ?? 0 })));
    const out: OutboxRecord[] = [];
    for (const { n } of dated.sort((a, b) => b.t - a.t).slice(0, limit)) {
      try {
        out.push(parseOutboxRecord(await fs.readFile(join(dir, n), 'utf8'), `dead-letter/${n}`));
      } catch {
        // Gone meanwhile, or hand-edited: the count still shows it; the server never moves dead letters.
      }
    }
    return out;
  }

  /** Removes a delivered run's local copy (results/<job>/<run-id>/). */
  async removeResult(rel: string): Promise<void> {
    const dir = this.spool.path(rel);
    await fs.rm(dir, { recursive: true, force: true });
    await syncDir(join(dir, '..'));
  }

  /** Writes `name` into a stored result's directory from streamed chunks (atomically). */
  saveBeside(resultDir: string, name: string, chunks: AsyncIterable<Buffer>): Promise<void> {
    return writeAtomicStream(this.spool.path('tmp'), join(resultDir, name), chunks);
  }
}

/** Parses outbox/<run-id>.json; throws a `bad_record` BuilderError naming the field. */
export function parseOutboxRecord(text: string, what: string): OutboxRecord {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new BuilderError('bad_record', `${what} is not valid JSON: ${(e as Error).message}`);
  }
  const need = (cond: unknown, problem: string): void => {
    if (!cond) throw new BuilderError('bad_record', `${what}: ${problem}`);
  };
  need(typeof o === 'object' && o !== null && !Array.isArray(o), 'must be a JSON object');
  need(o.version === 1, `unknown version ${JSON.stringify(o.version)}`);
  need(typeof o.run_id === 'string' && RUN_ID_RE.test(o.run_id), 'run_id must be a lower-case UUID');
  need(typeof o.job === 'string', 'job must be a string');
  need(typeof o.result === 'string' && /^results\/[^/]+\/[^/]+$/.test(o.result) && !o.result.includes('..'), 'result must be results/<job>/<run-id>');
  for (const k of ['attempts', 'failures']) need(Number.isInteger(o[k]) && (o[k] as number) >= 0, `${k} must be a whole number`);
  for (const k of ['enqueued', 'next_attempt']) need(typeof o[k] === 'string' && !Number.isNaN(Date.parse(o[k] as string)), `${k} must be an RFC 3339 time`);
  need(o.last_error === null || o.last_error === undefined || typeof o.last_error === 'string', 'last_error must be a string or null');
  return { ...(o as unknown as OutboxRecord), last_error: (o.last_error as string | undefined) ?? null };
}

async function jsonNames(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}
