import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { recordText, syncDir } from './atomic.js';
import type { ScheduleEntry } from './records.js';
import type { Spool } from './spool.js';

/**
 * A batch of schedule entries written ahead into tmp/batch-<id>/ (each file
 * fsynced as it comes, so memory holds no file text and nothing is locked
 * meanwhile), then committed by renaming each into schedule/ and fsyncing
 * that directory once. All or nothing: a commit that fails removes what it
 * had renamed; `discard` removes the stage (and the start-up sweep of tmp/
 * removes a stage a crash left).
 */
export class ScheduleStage {
  private readonly names: string[] = [];

  private constructor(
    private readonly spool: Spool,
    readonly dir: string,
  ) {}

  /** Makes a fresh stage directory under tmp/. */
  static async open(spool: Spool): Promise<ScheduleStage> {
    const dir = spool.path('tmp', `batch-${process.pid}-${randomBytes(6).toString('hex')}`);
    await fs.mkdir(dir, { mode: 0o700 });
    return new ScheduleStage(spool, dir);
  }

  /** Writes one entry into the stage (synced); a name given twice fails (EEXIST). */
  async put(e: ScheduleEntry): Promise<void> {
    const fd = await fs.open(join(this.dir, `${e.name}.json`), 'wx', 0o600);
    try {
      await fd.writeFile(recordText(e));
      await fd.sync();
    } finally {
      await fd.close();
    }
    this.names.push(e.name);
  }

  /** Renames every staged entry into schedule/ (all, or none on failure), then fsyncs schedule/. */
  async commit(): Promise<void> {
    const done: string[] = [];
    try {
      for (const name of this.names) {
        await fs.rename(join(this.dir, `${name}.json`), this.spool.path('schedule', `${name}.json`));
        done.push(name);
      }
      await syncDir(this.spool.path('schedule'));
    } catch (e) {
      for (const name of done) await fs.unlink(this.spool.path('schedule', `${name}.json`)).catch(() => undefined);
      await syncDir(this.spool.path('schedule')).catch(() => undefined);
      throw e;
    } finally {
      await this.discard();
    }
  }

  /** Removes the stage and whatever it still holds. */
  async discard(): Promise<void> {
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}
