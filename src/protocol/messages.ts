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
 *   observe only: server: output* (n, t, line) ... run_end{outcome}
 *
 * Worker conversation:
 *   worker: hello{role:worker, facts}  server: welcome{heartbeat_ms} | failure, close
 *   loop:
 *     worker: job_requested            server: job{run_id, job}  (when one is due)
 *     worker: output*                  server: cancel{run_id}?   (timeout, operator)
 *     worker: artifact{path,size,mode} <size raw bytes>  (only after an exit)
 *     worker: job_finished{run_id, outcome}
 *   both sides: heartbeat every heartbeat_ms; silence for 3 periods means lost.
 */

/** First line of every connection, from client or worker. */
export type Hello =
  | { type: 'hello'; role: 'client'; version: number; token?: string }
  | { type: 'hello'; role: 'worker'; version: number; token?: string; worker: WorkerFacts };

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
}

/** Messages a client sends after its hello: one command per connection. */
export type ClientMessage =
  | { type: 'schedule'; job: ScheduleSpec }
  | { type: 'unschedule'; name: string }
  | { type: 'execute'; name: string; platform?: string }
  | { type: 'info' }
  | { type: 'observe'; run_id: string; from?: number };

/** Messages a worker sends after its hello. */
export type WorkerMessage =
  | { type: 'job_requested' }
  | { type: 'output'; run_id: string; t: number; line: string }
  | ({ type: 'artifact'; run_id: string } & ArtifactInfo)
  | { type: 'job_finished'; run_id: string; outcome: Outcome }
  | { type: 'heartbeat' };

/** Everything the server sends, to clients and workers. */
export type ServerMessage =
  | { type: 'welcome'; version: number; server: string; heartbeat_ms: number }
  | { type: 'failure'; message: string; code?: string }
  | { type: 'success'; message: string }
  | { type: 'info_reply'; info: InfoReply }
  | { type: 'job'; run_id: string; job: Job }
  | { type: 'cancel'; run_id: string; reason: string }
  | { type: 'heartbeat' }
  | { type: 'output'; run_id: string; n: number; t: number; line: string }
  | { type: 'run_end'; run_id: string; outcome: Outcome | null };

/** The state `info` shows: schedule, queues, running jobs, workers, platforms. */
export interface InfoReply {
  schedule: { name: string; platform: string; period: Period; cron?: string; tz?: string; next: string | null }[];
  queues: { platform: string; paused: boolean; jobs: { name: string; queued: string; retries: number }[] }[];
  running: { run_id: string; name: string; platform: string; started: string; worker: string }[];
  workers: { id: string; platform: string; hostname: string; peer: string; since: string; run_id: string | null }[];
  dropped: string[];
  /** The upload outbox (present when the server has one): masked URL, runs waiting, runs given up. */
  upload?: { url: string | null; outbox: number; dead_letter: number };
}
