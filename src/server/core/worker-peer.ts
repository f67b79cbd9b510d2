import type { Job, WorkerFacts } from '../../protocol/types.js';

/** How the core talks to one worker; its session implements it over the connection. */
export interface WorkerLink {
  readonly isClosed: boolean;
  /** Sends the job of a claimed run with its attempt credential; rejects when the worker is gone. */
  sendJob(runId: string, job: Job, attempt?: string): Promise<void>;
  /** Answers a worker's resume: resend from seq `from`, or the run is gone (`from` null). Absent: the worker cannot resume (the original's protocol), so its runs are not held for it. */
  sendResume?(runId: string, from: number | null, why: string): Promise<void>;
  /** Asks the worker to kill the run's process group. */
  sendCancel(runId: string, why: string): void;
  /** Tells the worker it is refused (one failure line) and closes. */
  refuse(message: string, code: string): void;
  /** Closes the connection at once. */
  drop(): void;
  /** The worker may ask for its next job while its current one is reported, and holds a job sent ahead (welcome.pipeline). */
  readonly pipelines?: boolean;
  /** Takes back the job sent ahead, which the worker has not begun (it begins it only on job_received); absent: an older worker. */
  sendTakeBack?(runId: string): void;
}

/** A connected worker. */
export interface WorkerPeer {
  id: string;
  link: WorkerLink;
  /** Where it connects from (`ip:port`), for logs and info. */
  peer: string;
  facts: WorkerFacts;
  since: string;
  /** The run it is working on, or null while idle. */
  runId: string | null;
  /** A run sent ahead while `runId` was being reported: the worker holds it unstarted until then (pipelining). */
  ahead?: string | null;
  waiting: boolean;
}

function droppedMessage(platform: string): string {
  return `platform ${platform} was dropped on this server (undrop-platform ${platform} to accept it again)`;
}

/** Tells a worker of a dropped platform so, and closes it (its program exits 123). */
export function refuseDropped(w: WorkerPeer): void {
  w.waiting = false;
  w.link.refuse(droppedMessage(w.facts.platform), 'platform_dropped');
}
