import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import type { Outcome } from '../protocol/types.js';
import type { ConsoleLine, ResultRecord } from '../spool/records.js';
import { BuilderError, reason } from '../shared/errors.js';

// One finished run as builder-web's Exec blob holds it (SPEC "Upload to
// builder-web"). The original's UTF8String fields carry arbitrary bytes, so
// every text field takes a Buffer; strings are written as UTF-8.

/** Content of a UTF8String field: any bytes, or a string written as UTF-8. */
export type Text = string | Buffer;

/** One file held in memory (Job.files, or an artifact after decoding). */
export interface ExecFile {
  path: Text;
  data: Buffer;
}

/** What the original's decoder puts in a job whose OPTIONAL platform is absent; readers show the same. */
export const NO_PLATFORM = 'no-platform';

/** The job part; `platform: null` leaves the OPTIONAL field out, as very old runs did. */
export interface ExecJob {
  name: Text;
  script: Text;
  /** Always empty when we write; kept as read so decoded blobs re-encode identically. */
  files: ExecFile[];
  platform: Text | null;
}

/** One console line: nanoseconds since the run started, and the line without its newline. */
export interface ExecLine {
  delta: number;
  line: Text;
}

/** How the run ended, as the Result CHOICE has it ([0] exited … [3] message). */
export type ExecResult =
  | { kind: 'exited'; code: number }
  | { kind: 'signalled'; signal: number }
  | { kind: 'stopped'; signal: number }
  | { kind: 'failed'; message: Text };

/**
 * A UTC instant as a GeneralizedTime spells it: whole seconds since the epoch
 * plus the fractional digits exactly as written ('' for none). The original
 * writes milliseconds with trailing zeros ("…55.100Z"), which DER proper
 * would strip, so the digits are kept as text to re-encode byte for byte.
 */
export interface ExecTime {
  seconds: number;
  fraction: string;
}

/** An artifact to stream: its size is announced up front, `open()` yields exactly that many bytes. */
export interface ExecArtifact {
  path: Text;
  size: number;
  /** Hex SHA-256 when known (recorded in result.json, or computed from a decoded blob); not part of the DER encoding. */
  sha256?: string;
  open(): Readable;
}

/** A finished run ready to encode. `console` is oldest line first; the encoder reverses it. */
export interface ExecRun {
  job: ExecJob;
  /** Canonical UUID text; written as its 16 raw bytes. */
  uuid: string;
  console: ExecLine[];
  started: ExecTime;
  finished: ExecTime;
  result: ExecResult;
  artifacts: ExecArtifact[];
}

/** The original's precision: milliseconds, three digits, none when they are zero. */
export function execTimeOfDate(date: Date): ExecTime {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('invalid date');
  const rest = ((ms % 1000) + 1000) % 1000;
  return { seconds: (ms - rest) / 1000, fraction: rest === 0 ? '' : String(rest).padStart(3, '0') };
}

/** The instant as a Date (fraction digits past milliseconds are cut). */
export function dateOfExecTime(t: ExecTime): Date {
  const ms = Number(t.fraction.padEnd(3, '0').slice(0, 3));
  return new Date(t.seconds * 1000 + ms);
}

/** Maps our outcome onto the Result CHOICE, one to one. */
export function execResultOfOutcome(o: Outcome): ExecResult {
  return o.kind === 'failed' ? { kind: 'failed', message: o.message } : o;
}

/**
 * Builds an ExecRun from `results/<job>/<run-id>/` (result.json,
 * console.ndjson, artifacts/<path>). Artifacts are only stat'ed here; their
 * bytes are read when the encoder's body() streams them.
 */
export async function readStoredRun(runDir: string): Promise<ExecRun> {
  const record = await readJson<ResultRecord>(join(runDir, 'result.json'));
  const console = await readConsole(join(runDir, 'console.ndjson'));
  const artifactsDir = resolve(runDir, 'artifacts');
  const artifacts: ExecArtifact[] = [];
  for (const a of record.artifacts) {
    const file = resolve(artifactsDir, a.path);
    // The record is ours, but a path leaving artifacts/ must never be uploaded.
    if (!file.startsWith(artifactsDir + sep)) throw badRun(runDir, `artifact path ${a.path} leaves artifacts/`);
    const size = (await stat(file).catch((err: unknown) => {
      throw badRun(runDir, `artifact ${a.path}: ${reason(err)}`, err);
    })).size;
    if (size !== a.size) throw badRun(runDir, `artifact ${a.path} is ${size} bytes on disk, result.json says ${a.size}`);
    artifacts.push({ path: a.path, size, ...(a.sha256 ? { sha256: a.sha256 } : {}), open: () => createReadStream(file) });
  }
  return {
    job: { name: record.job.name, script: record.job.script, files: [], platform: record.job.platform },
    uuid: record.run_id,
    console: console.map((l) => ({ delta: l.t, line: l.line })),
    started: storedTime(runDir, 'started', record.started),
    finished: storedTime(runDir, 'finished', record.finished),
    result: execResultOfOutcome(record.outcome),
    artifacts,
  };
}

function storedTime(runDir: string, field: string, text: string): ExecTime {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw badRun(runDir, `result.json ${field} ${JSON.stringify(text)} is not a time`);
  return execTimeOfDate(date);
}

async function readJson<T>(file: string): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    throw badRun(file, reason(err), err);
  }
}

async function readConsole(file: string): Promise<ConsoleLine[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    // A run that printed nothing may have no console file at all.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw badRun(file, reason(err), err);
  }
  const lines: ConsoleLine[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    if (raw === '') continue;
    let line: ConsoleLine;
    try {
      line = JSON.parse(raw) as ConsoleLine;
    } catch (err) {
      throw badRun(file, `line ${i + 1} is not JSON`, err);
    }
    if (typeof line?.t !== 'number' || typeof line.line !== 'string') {
      throw badRun(file, `line ${i + 1} is not {"t": nanoseconds, "line": text}`);
    }
    lines.push(line);
  }
  return lines;
}

function badRun(where: string, problem: string, cause?: unknown): BuilderError {
  return new BuilderError('bad_run', `cannot read stored run ${where}: ${problem}`, { cause });
}
