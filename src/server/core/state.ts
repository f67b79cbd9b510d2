import type { Job } from '../../protocol/types.js';
import type { ScheduleEntry } from '../../spool/records.js';
import type { Spool } from '../../spool/spool.js';
import { Emitter, type CoreEvents } from './events.js';
import type { Limits } from './limits.js';
import { isActive, type Run } from './run-phase.js';
import { Queues } from './queue-mirror.js';
import type { WorkerPeer } from './worker-peer.js';

export type { WorkerLink, WorkerPeer } from './worker-peer.js';

// The server core: the run lifecycle (runs.ts, run-phase.ts), the queues
// (queue.ts, the only user of the spool's queue operations), dispatch, the
// scheduler, recovery and retention. It holds no socket: sessions translate
// wire messages into core calls and hand it a WorkerLink; it tells the rest
// of the server what happened through `events`.

/** What the core needs from the command line. */
export interface CoreConfig {
  dir: string;
  configDir: string;
  heartbeatMs: number;
  /** How many times a due run is retried after a lost worker or a timeout. */
  retries: number;
  /** How long a run whose worker went away waits for it to resume (ms); absent: 3 heartbeats; 0: never. */
  reattachGraceMs?: number;
  /** Seconds a worker gets to report after being told to stop. */
  killGraceS: number;
  /** Keep at most this many stored results per job (0: all). */
  keep: number;
  /** Per-run and per-peer limits. */
  limits: Limits;
}

/** Everything the server holds in memory; the spool is the truth it mirrors. */
export class ServerState<C extends CoreConfig = CoreConfig> {
  readonly schedule = new Map<string, ScheduleEntry>();
  readonly queues = new Queues();
  readonly runs = new Map<string, Run>();
  readonly workers = new Map<string, WorkerPeer>();
  readonly dropped = new Set<string>();
  readonly paused = new Set<string>();
  /** run id -> job name of every stored result, to find a result by id. */
  readonly results = new Map<string, string>();
  /** Problems an operator must fix (missing templates, ...), by a key naming the job and platform. */
  readonly problems = new Map<string, string>();
  readonly events = new Emitter<CoreEvents>();
  private lockTail: Promise<unknown> = Promise.resolve();
  stopping = false;

  constructor(
    readonly spool: Spool,
    readonly config: C,
  ) {}

  /** Runs queue mutations one at a time, so a rescan never interleaves with an enqueue or a claim. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.lockTail.then(fn);
    this.lockTail = p.catch(() => undefined);
    return p;
  }

  /** Whether a run of this job is being claimed or executed on this platform (one being stored no longer counts). */
  isRunning(job: Pick<Job, 'name' | 'platform'>): boolean {
    if (this.queues.isClaiming(job.platform, job.name)) return true;
    for (const r of this.runs.values()) if (isActive(r) && r.record.job.name === job.name && r.record.job.platform === job.platform) return true;
    return false;
  }
}
