import type { Connection } from '../../protocol/connection.js';
import type { ArtifactInfo, Job, WorkerFacts } from '../../protocol/types.js';
import type { RunRecord, ScheduleEntry } from '../../spool/records.js';
import type { Spool } from '../../spool/spool.js';
import type { ConsoleLog } from './console-log.js';
import type { HttpAddress } from '../http/address.js';
import type { Limits, RunUsage } from './limits.js';
import { Queues } from './queues.js';
import type { SecurityConfig } from '../config/security.js';
import type { UploadConfig } from '../uploads/upload.js';

/** Server settings from the command line. */
export interface ServerConfig {
  dir: string;
  configDir: string;
  ip: string;
  port: number;
  heartbeatMs: number;
  /** How many times a due run is retried after a lost worker or a timeout. */
  retries: number;
  /** Seconds a worker gets to report after being told to stop. */
  killGraceS: number;
  maxLine: number;
  /** Keep at most this many stored results per job (0: all). */
  keep: number;
  /** --upload, --keep-local, --save-format der and their tuning (none when absent). */
  upload?: UploadConfig;
  /** Where the read-only status page listens (--http), or absent when it is off. */
  http?: HttpAddress | null;
  /** Credentials, TLS, the local socket. */
  security: SecurityConfig;
  /** Per-run and per-peer limits. */
  limits: Limits;
}

/** A connected worker. */
export interface WorkerPeer {
  id: string;
  conn: Connection;
  facts: WorkerFacts;
  since: string;
  /** The run it is working on, or null while idle. */
  runId: string | null;
  waiting: boolean;
}

/** A run in progress: its record, console, worker and timers. */
export interface RunState {
  record: RunRecord;
  worker: WorkerPeer;
  console: ConsoleLog;
  artifacts: ArtifactInfo[];
  deadline: NodeJS.Timeout | null;
  /** Why the server asked the worker to stop (timeout, cancel), which then decides the outcome. */
  stop: { why: string; requeue: boolean } | null;
  /** Artifacts and console received so far, against the per-run limits. */
  usage: RunUsage;
  done: boolean;
}

/** Everything the server holds in memory; the spool is the truth it mirrors. */
export class ServerState {
  readonly schedule = new Map<string, ScheduleEntry>();
  readonly queues = new Queues();
  readonly runs = new Map<string, RunState>();
  readonly workers = new Map<string, WorkerPeer>();
  readonly dropped = new Set<string>();
  readonly paused = new Set<string>();
  /** run id -> job name of every stored result, to find a result by id. */
  readonly results = new Map<string, string>();
  /** `platform/name` of jobs taken off a queue whose claim is in progress. */
  readonly claiming = new Set<string>();
  /** Problems an operator must fix (missing templates, ...), by a key naming the job and platform. */
  readonly problems = new Map<string, string>();
  private lockTail: Promise<unknown> = Promise.resolve();
  stopping = false;

  constructor(
    readonly spool: Spool,
    readonly config: ServerConfig,
  ) {}

  /** Runs queue mutations one at a time, so a rescan never interleaves with an enqueue or a claim. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.lockTail.then(fn);
    this.lockTail = p.catch(() => undefined);
    return p;
  }

  /** Whether a run of this job is in progress on this platform. */
  isRunning(job: Pick<Job, 'name' | 'platform'>): boolean {
    if (this.claiming.has(`${job.platform}/${job.name}`)) return true;
    for (const r of this.runs.values()) if (r.record.job.name === job.name && r.record.job.platform === job.platform) return true;
    return false;
  }
}
