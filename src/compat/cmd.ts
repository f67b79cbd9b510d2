import type { Outcome, Period } from '../protocol/types.js';

/*
 * The original builder's wire protocol (robur-coop/builder, lib/builder.ml),
 * which builder-server speaks on --compat-port so that the original's
 * unmodified builder-worker and builder-client work against it.
 *
 * Framing: 8 bytes big-endian length, then exactly that many bytes: one DER
 * encoding of `cmd`, a CHOICE whose alternatives are `[n] EXPLICIT`, n = 0..22
 * (CMD_TAG below). Text fields are UTF8String holding arbitrary bytes; a UUID
 * is a UTF8String of its 16 raw bytes.
 *
 * Client (one command per connection, client version 13):
 *   client: client_hello(client, 13)        server: server_hello
 *   client: schedule | schedule_orb_build | unschedule | execute | reschedule
 *           | drop_platform | undrop_platform   server: success | failure(msg)
 *   client: info                            server: info_reply, success
 *   client: observe(uuid)                   server: output_timestamped(uuid, ns, line)*,
 *           a last output_timestamped carrying the outcome as text ("exited 0"), success
 *           | failure(msg) for an unknown run
 * Worker (one job per connection, worker version 5):
 *   worker: client_hello(worker, 5)         server: server_hello
 *   worker: job_requested(platform)         server: job_schedule(uuid, script_job)  (when one is due)
 *   worker: output(uuid, line)*
 *   worker: job_finished(uuid, result, files)   -- every artifact inside this one frame
 *   server: closes.
 * There is no authentication, TLS, cancel or heartbeat in this protocol.
 */

/** The versions the original's client and worker announce in their hello. */
export const CLIENT_VERSION = 13;
export const WORKER_VERSION = 5;

/** What `platform` the original's decoder puts in a script_job that has none. */
export { NO_PLATFORM } from '../upload/exec-run.js';

/** The context tag number of each alternative of `cmd` (tags 0, 1, 7, 8 and 11 are older forms). */
export const CMD_TAG = {
  job_schedule: 2,
  job_finished: 3,
  output: 4,
  schedule: 5,
  info: 6,
  info_reply_old: 7,
  unschedule: 9,
  observe: 10,
  execute_old: 11,
  schedule_orb_build: 12,
  reschedule: 13,
  client_hello: 14,
  server_hello: 15,
  job_requested: 16,
  drop_platform: 17,
  success: 18,
  failure: 19,
  execute: 20,
  undrop_platform: 21,
  info_reply: 22,
} as const;

/** A job with its script, as a worker runs it. */
export interface ScriptJob {
  name: string;
  platform: string;
  script: string;
}

/** A job of the schedule or a queue: a script job, or an orb build made from the platform's template. */
export type OrigJob = { kind: 'script'; job: ScriptJob } | { kind: 'orb_build'; name: string; opam_package: string };

/** One schedule entry: when it is next due, how often, which job. */
export interface ScheduleItem {
  next: Date;
  period: Period;
  job: OrigJob;
}

/** One artifact inside job_finished: its path and its bytes. */
export interface OrigFile {
  path: string;
  data: Buffer;
}

/** What info_reply carries. */
export interface OrigInfo {
  schedule: ScheduleItem[];
  queues: { platform: string; jobs: OrigJob[] }[];
  running: { started: Date; uuid: string; job: ScriptJob }[];
  dropped: string[];
}

/** One message of the original protocol; `uuid` is canonical lowercase UUID text. */
export type Cmd =
  | { type: 'job_requested'; platform: string }
  | { type: 'job_schedule'; uuid: string; job: ScriptJob }
  | { type: 'job_finished'; uuid: string; result: Outcome; files: OrigFile[] }
  | { type: 'output'; uuid: string; line: string }
  /** `ts`: nanoseconds since the run started. */
  | { type: 'output_timestamped'; uuid: string; ts: number; line: string }
  | { type: 'schedule'; period: Period; job: ScriptJob }
  | { type: 'unschedule'; name: string }
  | { type: 'info' }
  | { type: 'info_reply'; info: OrigInfo }
  | { type: 'observe'; uuid: string }
  | { type: 'execute'; name: string; platform: string | null }
  | { type: 'schedule_orb_build'; period: Period; name: string; opam_package: string }
  | { type: 'reschedule'; name: string; next: Date; period: Period | null }
  | { type: 'drop_platform'; platform: string }
  | { type: 'undrop_platform'; platform: string }
  | { type: 'client_hello'; role: 'client' | 'worker'; version: number }
  | { type: 'server_hello' }
  | { type: 'success' }
  | { type: 'failure'; message: string };

/** The original's `state` file: a SEQUENCE OF state_item. */
export type StateItem =
  | { kind: 'queue'; platform: string; jobs: OrigJob[] }
  | { kind: 'schedule'; item: ScheduleItem }
  | { kind: 'dropped_platform'; platform: string }
  /** Older forms the original itself ignores with a warning ([0] a lone script job, [2] a lone job). */
  | { kind: 'ignored'; what: string };

/** The outcome as the original prints it (its pp_execution_result), e.g. at the end of an observe. */
export function originalOutcomeText(o: Outcome): string {
  return o.kind === 'exited' ? `exited ${o.code}`
    : o.kind === 'signalled' ? `signalled ${o.signal}`
    : o.kind === 'stopped' ? `stopped ${o.signal}`
    : `execution aborted: ${o.message}`;
}
