// Domain types shared by the wire protocol and the spool records: described once here.

/** How often a scheduled job is due; `never` means only on `execute`. */
export type Period = 'hourly' | 'daily' | 'weekly' | 'never';
export const PERIODS: readonly Period[] = ['hourly', 'daily', 'weekly', 'never'];
/** The period of a job scheduled without one: daily, as in the original (its client: `opt p Builder.Daily`). */
export const DEFAULT_PERIOD: Period = 'daily';

/** One job as a worker runs it: a named shell script for one platform. */
export interface Job {
  name: string;
  platform: string;
  script: string;
  /** Seconds before the run is killed and recorded as timed out. */
  timeout_s: number;
}

/** How a run ended. A timeout, a lost worker or a refused artifact is `failed` with a message. */
export type Outcome =
  | { kind: 'exited'; code: number }
  | { kind: 'signalled'; signal: number }
  | { kind: 'stopped'; signal: number }
  | { kind: 'failed'; message: string };

/** What a worker says about itself in its hello. */
export interface WorkerFacts {
  platform: string;
  hostname: string;
  os: string;
  release: string;
  arch: string;
  cpus: number;
  memory: number;
  version: string;
  /** A random id of this worker process (kept across its reconnects), so verify groups can tell processes apart; absent from older workers. */
  instance?: string;
}

/** One artifact file of a run: a path relative to the run's work dir. */
export interface ArtifactInfo {
  path: string;
  size: number;
  mode: number;
  /** Lowercase hex SHA-256 of the bytes, computed by the server as they streamed in; absent in results stored before it was recorded. */
  sha256?: string;
}

/** How many times `--verify N` may build one due run. */
export const MAX_VERIFY = 16;

/** Names of jobs and platforms become file names: this set keeps them safe and readable. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/;
export const NAME_RULE = '1-100 characters from A-Z a-z 0-9 . _ + -, starting with a letter or digit';

/** Default job timeout: one hour, as the original. */
export const DEFAULT_TIMEOUT_S = 3600;
/** The longest job timeout, 7 days (Node's timers hold at most about 24.8 days). */
export const MAX_TIMEOUT_S = 7 * 24 * 3600;

/** Renders an outcome the way people read it: `exited 0`, `signalled 9`, `failed: timed out`. */
export function describeOutcome(o: Outcome): string {
  switch (o.kind) {
    case 'exited':
      return `exited ${o.code}`;
    case 'signalled':
      return `signalled ${o.signal}`;
    case 'stopped':
      return `stopped ${o.signal}`;
    case 'failed':
      return `failed: ${o.message}`;
  }
}
