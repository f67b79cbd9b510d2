import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { Connection } from '../protocol/connection.js';
import type { Job } from '../protocol/types.js';
import { describeOutcome } from '../protocol/types.js';
import { runJob, type JobResult } from '../exec/run-job.js';
import { reason } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { RunBuffer } from './run-buffer.js';

/**
 * One job the worker got, from its start until the server has its result,
 * across connections: the job runs whether or not the server can be heard;
 * its lines are numbered and kept (run-buffer.ts) and sent live while a
 * connection is attached; after a reconnect `attach` resends from where the
 * server says, and `report` sends artifacts and job_finished on whichever
 * connection is attached when the job has ended.
 */
export class Attempt {
  readonly abort = new AbortController();
  readonly buffer: RunBuffer;
  readonly result: Promise<JobResult>;
  private conn: Connection | null = null;
  /** Sending live: attached and caught up, so new lines go out as they come. */
  private live = false;

  constructor(
    readonly runId: string,
    readonly job: Job,
    /** The attempt credential the server gave with the job (absent from an old server: no resume). */
    readonly credential: string | undefined,
    workRoot?: string,
  ) {
    this.buffer = new RunBuffer(join(workRoot ?? os.tmpdir(), `builder-output-${runId}.ndjson`));
    log('info', `running ${job.name} (timeout ${job.timeout_s} s)`, runId);
    this.result = runJob(job, { signal: this.abort.signal, ...(workRoot ? { workRoot } : {}), onLine: (t, line) => this.line(t, line) });
  }

  private line(t: number, line: string): Promise<void> {
    const seq = this.buffer.push(t, line);
    if (!this.live || !this.conn) return Promise.resolve();
    // Lines of one event-loop turn go out as one write; a full batch makes the job wait for the server.
    // A lost connection is not the job's end: the line is kept and resent after the resume.
    return this.conn.sendSoon({ type: 'output', run_id: this.runId, seq, t, line }).catch(() => undefined);
  }

  /** Sends the lines from `from` on over `conn`, then goes live on it. */
  async attach(conn: Connection, from: number): Promise<void> {
    this.conn = conn;
    this.live = false;
    let next = from;
    // Lines pushed while resending are picked up by the next pass; the last pass ends with no await after its check.
    while (next < this.buffer.count) {
      for await (const l of this.buffer.from(next)) {
        await conn.sendSoon({ type: 'output', run_id: this.runId, seq: l.seq, t: l.t, line: l.line });
        next = l.seq + 1;
      }
    }
    this.live = true;
  }

  /** The connection is gone: lines are only kept until the next attach. */
  detach(): void {
    this.live = false;
    this.conn = null;
  }

  /** Once the job ended: its artifacts, then job_finished, on `conn` (rejects when `lost` does first). */
  async report(conn: Connection, lost: Promise<never>): Promise<void> {
    const result = await Promise.race([this.result, lost]);
    for (const a of result.artifacts) {
      try {
        await conn.sendFrame({ type: 'artifact', run_id: this.runId, path: a.path, size: a.size, mode: a.mode }, createReadStream(a.full, { highWaterMark: 1 << 20 }), a.size);
      } catch (e) {
        if (conn.isClosed) throw e;
        // The frame was never started (the file vanished): say so and go on.
        await this.line(0, `builder-worker: cannot read artifact ${a.path}: ${reason(e)}; not sent`);
      }
    }
    await conn.send({ type: 'job_finished', run_id: this.runId, outcome: result.outcome });
    log('info', `${this.job.name}: ${describeOutcome(result.outcome)}, ${result.artifacts.length} artifact(s)`, this.runId);
  }

  /** Kills the job (if still running), waits for it and removes what it left. */
  async discard(why: string): Promise<void> {
    this.detach();
    this.abort.abort(new Error(why));
    await this.result.catch(() => undefined);
    await this.cleanup();
  }

  /** Removes the work dir and the spilled output. */
  async cleanup(): Promise<void> {
    const r = await this.result.catch(() => null);
    if (r?.dir) await fs.rm(r.dir, { recursive: true, force: true }).catch(() => undefined);
    await this.buffer.dispose();
  }
}
