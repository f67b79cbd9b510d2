import type { ArtifactInfo, Job, Outcome, Period, WorkerFacts } from './types.js';

/*
 * The line protocol: newline-delimited JSON over TCP, one message a line.
 * Every message is an object with a snake_case `type`. The first line from
 * each side is a hello; a version mismatch or a refused credential gets one
 * `failure` line, then the connection closes. Artifact bytes never travel in
 * JSON: an `artifact` line announces path, size and mode, and exactly `size`
 * raw bytes follow it on the same stream.
 *
 * Client conversation (one command per connection):
 *   client: hello{role:client}      server: welcome | failure, close
 *   client: <command>               server: success | failure | <command>_reply
 *   observe, observe_latest: server: observing{run_id}, output*{n,t,line}, run_end{outcome}
 *     with print:"text"|"json" in the command, the lines may come as output_block{from,lines,bytes}
 *     + `bytes` raw bytes instead: exactly what observe prints for those lines (text: the line and
 *     a newline; json: {"n","t","line"} and a newline), each block encoded once for all observers;
 *     and `observing` then carries heartbeat_ms: a heartbeat comes after that long without a
 *     block, so an observer can tell a quiet run from a server that froze (3 silent periods).
 *   schedule_batch{count}: followed by `count` schedule lines; all or nothing
 *   fetch: server: fetch_reply{artifacts}, then artifact{path,size,mode} + raw bytes each, success
 *   compare: server: compare_reply{runs:[a,b]} (artifact lists with sha256; no bytes)
 *
 * Worker conversation:
 *   worker: hello{role:worker, facts, stored_acks?, received_acks?}  server: welcome{heartbeat_ms, pipeline?, stored_acks?, received_acks?} | failure, close
 *   loop:
 *     worker: job_requested            server: job{run_id, job}  (when one is due)
 *     worker: output*{seq,t,line}     server: cancel{run_id}?   (timeout, operator)
 *     worker: job_requested?           (pipeline only: once the job's process ended, before reporting)
 *     worker: artifact{path,size,mode} <size raw bytes>  (only after an exit)
 *     worker: job_finished{run_id, outcome}
     server: job_received{run_id}  (to a hello with received_acks: job_finished was read, the run
       left the worker, and the run sent ahead, if any, is its current one: the worker begins it
       now, while it still keeps the reported run for job_stored; at most these two at a time)
     server: job_stored{run_id, error?}  (to a hello with stored_acks: once the result is
       durable; until then the worker keeps the run, and resumes it after a reconnect, so a
       result the server lost in a crash is reported again instead of the job run again)
 *   received_acks: the worker asks ahead once its job's process has exited (as with pipeline),
 *   begins the job held ahead on job_received, and hands it back unbegun (give_back)
 *   when it drains; the server takes it back (take_back) for a worker that went idle meanwhile.
 *   pipeline (welcome.pipeline true): the early job_requested lets the server
 *   claim the next job while this one is reported and stored; a `job` that
 *   comes before this job_finished is held, and started right after it. A
 *   held job that is cancelled is answered with job_finished{failed}; a held
 *   job the worker drops (connection lost, stopping, draining) is put back in
 *   the queue by the server as never started.
 *   after a reconnect with a job still held (running or finished):
 *     worker: resume{run_id, attempt}  server: resumed{run_id, from} | run_gone{run_id, reason}
 *     (resumed: output from seq `from` on, then artifacts and job_finished)
 *   both sides: heartbeat every heartbeat_ms; silence for 3 periods means lost.
 */

/** First line of every connection, from client or worker. */
export type Hello =
  | { type: 'hello'; role: 'client'; version: number; token?: string }
  /** stored_acks: the worker waits for job_stored after each job_finished (and the server sends it). */
  /** received_acks: the worker begins the job sent ahead on job_received, before job_stored (the server sends it). */
  | { type: 'hello'; role: 'worker'; version: number; token?: string; worker: WorkerFacts; stored_acks?: boolean; received_acks?: boolean };

/** What a client asks to schedule. */
export interface ScheduleSpec {
  name: string;
  platform: string;
  script: string;
  period: Period;
  cron?: string;
  tz?: string;
  timeout_s?: number;
  allow_overlap?: boolean;
  /** Build each due run this many times (2..MAX_VERIFY) on different workers and compare their artifacts. */
  verify?: number;
}

/** Messages a client sends after its hello: one command per connection. */
export type ClientMessage =
  /** replace: update the job if it is already scheduled (unchanged: left as it is). */
  /** now: queue it at once as execute would, in the same connection (a one-off job in one call). */
  | { type: 'schedule'; job: ScheduleSpec; replace?: boolean; now?: boolean }
  | { type: 'unschedule'; name: string }
  | { type: 'execute'; name: string; platform?: string; verify?: number }
  /** limit: jobs listed per queue (absent: 100; 0: all); the count is always the whole queue's. */
  | { type: 'info'; limit?: number }
  /** print: send the console as output_block frames of printed lines in this format (absent: an output message per line). */
  | { type: 'observe'; run_id: string; from?: number; print?: 'text' | 'json' }
  | { type: 'schedule_batch'; count: number; replace?: boolean }
  | { type: 'orb_build'; name: string; opam_package: string; period: Period; cron?: string; tz?: string; platform?: string; timeout_s?: number; verify?: number }
  /** next: when the job is next due; may be left out with cron (the next match). */
  | { type: 'reschedule'; name: string; next?: string; period?: Period; cron?: string; tz?: string }
  | { type: 'observe_latest'; platform?: string; job?: string; from?: number; print?: 'text' | 'json' }
  | { type: 'cancel'; run_id: string }
  | { type: 'pause'; platform: string }
  | { type: 'resume'; platform: string }
  | { type: 'drop_platform'; platform: string }
  | { type: 'undrop_platform'; platform: string }
  | { type: 'results'; name?: string; limit?: number }
  /** paths: only these artifacts (absent: all). */
  | { type: 'fetch'; run_id: string; paths?: string[] }
  | { type: 'compare'; run_ids: [string, string] };

/** Messages a worker sends after its hello. */
export type WorkerMessage =
  | { type: 'job_requested' }
  /** received_acks only: the job sent ahead is handed back unbegun (the worker drains); the server requeues it as never started. */
  | { type: 'give_back'; run_id: string }
  /** seq: the line's number in its run (0, 1, ...), so a resumed run's console has no line twice; absent from old workers. */
  | { type: 'output'; run_id: string; t: number; line: string; seq?: number }
  | ({ type: 'artifact'; run_id: string } & ArtifactInfo)
  | { type: 'job_finished'; run_id: string; outcome: Outcome }
  /** After a reconnect: the worker still has this run (running or finished) and proves it is the attempt that got it. */
  | { type: 'resume'; run_id: string; attempt: string }
  | { type: 'heartbeat' };

/** Everything the server sends, to clients and workers. */
export type ServerMessage =
  /** pipeline: the server takes a job_requested while the worker's job is being reported (see the top). */
  /** stored_acks: to a worker that asked for them, this server sends job_stored. */
  /** received_acks: to a worker that asked for them, this server sends job_received. */
  | { type: 'welcome'; version: number; server: string; heartbeat_ms: number; pipeline?: boolean; stored_acks?: boolean; received_acks?: boolean }
  | { type: 'failure'; message: string; code?: string }
  /** warnings: what the operator should look at although the command succeeded (e.g. a platform no worker serves). */
  | { type: 'success'; message: string; warnings?: string[] }
  | { type: 'info_reply'; info: InfoReply }
  /** attempt: a secret credential of this attempt, presented in `resume`. */
  | { type: 'job'; run_id: string; job: Job; attempt?: string }
  /** Answer to resume: send output from line `from` on, then artifacts and job_finished as usual. */
  | { type: 'resumed'; run_id: string; from: number }
  /** Answer to resume: the run is no longer this attempt's (lost, requeued, stored): kill it and discard it. */
  | { type: 'run_gone'; run_id: string; reason: string }
  /**
   * To a stored_acks worker, once per job_finished: the server is done with the run, so the
   * worker may forget it. `error`: it could not
   * store it (left in running/ for the server's next start); absent: the result is durable.
   */
  | { type: 'job_stored'; run_id: string; error?: string }
  /**
   * To a received_acks worker, right after reading its job_finished of a run it owned (before
   * storing it): the run is no longer the worker's current one, so the job sent ahead may begin
   * (a connection lost from now on holds that one for a resume, not puts it back as never begun).
   */
  | { type: 'job_received'; run_id: string }
  /**
   * To a received_acks worker, for the job it holds ahead (never begun before job_received): drop it, the
   * server requeues it for an idle worker. Always sent before the job_received that would let it begin.
   */
  | { type: 'take_back'; run_id: string }
  | { type: 'cancel'; run_id: string; reason: string }
  | { type: 'heartbeat' }
  | { type: 'output'; run_id: string; n: number; t: number; line: string }
  /** To an observer that asked for `print`: `bytes` raw bytes follow, lines from..from+lines-1 as observe prints them, one newline each. */
  | { type: 'output_block'; run_id: string; from: number; lines: number; bytes: number }
  | { type: 'observing'; run_id: string; name: string; platform: string; heartbeat_ms?: number }
  | { type: 'run_end'; run_id: string; outcome: Outcome | null }
  | { type: 'results_reply'; results: ResultSummary[] }
  | { type: 'fetch_reply'; run_id: string; artifacts: ArtifactInfo[] }
  | { type: 'compare_reply'; runs: [RunArtifacts, RunArtifacts] }
  | ({ type: 'artifact'; run_id: string } & ArtifactInfo);

/** One finished run as `results` lists it. */
export interface ResultSummary {
  run_id: string;
  name: string;
  platform: string;
  started: string;
  finished: string;
  duration_s: number;
  outcome: Outcome;
  artifacts: number;
  size: number;
  /** Each artifact with its sha256 (absent for results stored before hashes were recorded). */
  /** The artifacts with their sha256; absent when the result could not be read. */
  files?: ArtifactInfo[];
  /** The verify group this run belongs to, and the group's outcome so far. */
  group?: GroupSummary;
}

/** A verify group as `results` and `compare` show it. */
export interface GroupSummary {
  id: string;
  index: number;
  of: number;
  /** `pending` until every build has finished. */
  outcome: 'pending' | 'reproducible' | 'differs' | 'incomplete';
  /** Paths whose hash or presence differs (outcome differs). */
  differs?: string[];
}

/** One finished run's artifacts as `compare` gets them. */
export interface RunArtifacts {
  run_id: string;
  name: string;
  platform: string;
  outcome: Outcome;
  /** The host and worker process that built it. */
  worker: { id: string; hostname: string; instance?: string } | null;
  artifacts: ArtifactInfo[];
  group?: GroupSummary;
}

/** The state `info` shows: schedule, queues, running jobs, workers, platforms. */
export interface InfoReply {
  schedule: { name: string; platform: string; period?: Period; cron?: string; tz?: string; next: string | null; template?: string; verify?: number }[];
  /** `jobs`: the first jobs of the queue (see the info message's limit); `count`: how many it holds. */
  queues: { platform: string; paused: boolean; count?: number; jobs: { name: string; queued: string; retries: number }[] }[];
  running: { run_id: string; name: string; platform: string; started: string; worker: string }[];
  workers: { id: string; platform: string; hostname: string; peer: string; since: string; run_id: string | null }[];
  dropped: string[];
  paused: string[];
  /** Problems an operator must fix, e.g. a missing or unreadable template. */
  problems: string[];
  /** The upload outbox (present when the server has one): masked URL, runs waiting, runs given up. */
  upload?: { url: string | null; outbox: number; dead_letter: number };
}
