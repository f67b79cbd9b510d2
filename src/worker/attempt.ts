import os from 'node:os';
import { join } from 'node:path';
import type { Connection } from '../protocol/connection.js';
import type { Job } from '../protocol/types.js';
import { describeOutcome } from '../protocol/types.js';
import { runJob, type JobResult } from '../exec/run-job.js';
import type { Sandbox } from '../exec/sandbox/sandbox.js';
import { log } from '../shared/log.js';
import { RunBuffer } from './run-buffer.js';
import { sendArtifact } from './send-artifact.js';

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
  /** When the job started (ms since the epoch): the server times it out from then. */
  readonly startedMs = Date.now();
  /** Resolves once the job's process has exited (or the job ended without one): the worker may then ask for its next job. */
  readonly exited: Promise<void>;
  private conn: Connection | null = null;
  /** Sending live: attached and caught up, so new lines go out as they come. */
  private live = false;

  constructor(
    readonly runId: string,
    readonly job: Job,
    /** The attempt credential the server gave with the job (absent from an old server: no resume). */
    readonly credential: string | undefined,
    opts: { workRoot?: string; sandbox?: Sandbox },
  ) {
    this.buffer = new RunBuffer(join(opts.workRoot ?? os.tmpdir(), `builder-output-${runId}.ndjson`));
    log('info', `running ${job.name} (timeout ${job.timeout_s} s)`, runId);
    let exited!: () => void;
    this.exited = new Promise((r) => (exited = r));
    this.result = runJob(job, {
      onExit: () => exited(),
      signal: this.abort.signal,
      runId,
      ...(opts.workRoot ? { workRoot: opts.workRoot } : {}),
      ...(opts.sandbox ? { sandbox: opts.sandbox } : {}),
      onLine: (t, line) => this.line(t, line),
    });
    void this.result.then(exited, exited);
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
    let outcome = result.outcome;
    for (const a of result.artifacts) {
      const problem = await sendArtifact(conn, this.runId, a, (line) => this.line(0, line));
      if (problem && outcome.kind !== 'failed') outcome = { kind: 'failed', message: `${describeOutcome(outcome)}, but ${problem}` };
    }
    await conn.send({ type: 'job_finished', run_id: this.runId, outcome });
    log('info', `${this.job.name}: ${describeOutcome(outcome)}, ${result.artifacts.length} artifact(s)`, this.runId);
  }

  /** Kills the job (if still running), waits for it and removes what it left. */
  async discard(why: string): Promise<void> {
    this.detach();
    this.abort.abort(new Error(why));
    await this.result.catch(() => undefined);
    await this.cleanup();
  }

  /** Removes the work dir (and the sandbox) and the spilled output. */
  async cleanup(): Promise<void> {
    const r = await this.result.catch(() => null);
    await r?.release().catch(() => undefined);
    await this.buffer.dispose();
  }
}
