import type { ArtifactInfo, Job, Outcome, Period, WorkerFacts } from '../protocol/types.js';

// The spool's records, one JSON file each, pretty-printed with a "version" field.
// Layout (relative to the spool dir) is documented in README.md, "The spool".

/** A template job's recipe: the script is built per platform from `<config-dir>/<name>.template.<platform>`. */
export interface TemplateRef {
  name: 'orb-build';
  opam_package: string;
}

/** A run's place in a verify group (groups/<id>.json): member `index` (1-based) of `of` builds of one due run. */
export interface GroupTag {
  id: string;
  index: number;
  of: number;
}

/** The `platform` of a template entry that fans out to every platform with a template. */
export const ALL_PLATFORMS = '*';

/** schedule/<name>.json — one scheduled job. */
export interface ScheduleEntry {
  version: 1;
  name: string;
  /** A platform, or `*` for a template job on every platform that has the template. */
  platform: string;
  /** The script; empty for a template job (built per platform when queued). */
  script: string;
  template?: TemplateRef;
  period: Period;
  /** A cron expression; when set it decides the next run instead of `period`. */
  cron?: string;
  /** IANA time zone for `cron` (UTC when absent). */
  tz?: string;
  timeout_s: number;
  /** When the job is next due (RFC 3339), or null for `never`. */
  next: string | null;
  /** Queue again even while a previous run of this job is still running. */
  allow_overlap?: boolean;
  /** Build each due run this many times on different workers and compare the artifacts (a verify group). */
  verify?: number;
}

/** queue/<platform>/<order>-<name>.json — one job waiting for a worker of that platform. */
export interface QueueItem {
  version: 1;
  job: Job;
  queued: string;
  /** How many attempts of this due run were already lost or timed out. */
  retries: number;
  /** Set when this is one build of a verify group. */
  group?: GroupTag;
}

/** running/<run-id>/run.json — one dispatched attempt. */
export interface RunRecord {
  version: 1;
  run_id: string;
  job: Job;
  retries: number;
  queued: string;
  started: string;
  worker: { id: string; peer: string; facts: WorkerFacts };
  group?: GroupTag;
  /** The attempt's secret credential: a worker resuming the run after a reconnect presents it. */
  attempt?: string;
}

/** results/<job>/<run-id>/result.json — one finished run; console.ndjson and artifacts/ sit beside it. */
export interface ResultRecord {
  version: 1;
  run_id: string;
  job: Job;
  started: string;
  finished: string;
  outcome: Outcome;
  artifacts: ArtifactInfo[];
  console_lines: number;
  retries: number;
  worker: { id: string; peer: string; facts: WorkerFacts } | null;
  /** The verify group this run is a final build of (absent on attempts that were requeued). */
  group?: GroupTag;
}

/** One line of console.ndjson: nanoseconds since the run started, and the line without its newline. */
export interface ConsoleLine {
  t: number;
  line: string;
}

/** platforms/<platform>.json — operator state of a platform. */
export interface PlatformRecord {
  version: 1;
  platform: string;
  dropped: boolean;
  paused: boolean;
}
