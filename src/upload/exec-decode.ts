import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { DerReader, TAG, contextTag, derError, readInteger, tagName, type Tlv } from './der.js';
import type { ExecResult, ExecRun, ExecTime } from './exec-run.js';

// Decoder for the Exec blob (builder-web uploads and the original's saved
// results), for `builder-client inspect`. It keeps everything needed to
// re-encode the identical bytes: absent platform, Job.files, the fraction
// digits of each time. Every UTF8String comes back as the raw bytes.

/** A decoded run: ExecRun with every text field as raw bytes and the artifacts in memory. */
export interface DecodedExec {
  job: { name: Buffer; script: Buffer; files: DecodedFile[]; platform: Buffer | null };
  uuid: string;
  /** Oldest line first (the blob stores newest first). */
  console: { delta: number; line: Buffer }[];
  started: ExecTime;
  finished: ExecTime;
  /** Which time type the blob used; re-encoding always writes GeneralizedTime. */
  timeTypes: { started: 'generalized' | 'utc'; finished: 'generalized' | 'utc' };
  result: DecodedResult;
  artifacts: DecodedFile[];
}

/** The Result CHOICE as read: a failure message comes back as its raw bytes. */
export type DecodedResult = Exclude<ExecResult, { kind: 'failed' }> | { kind: 'failed'; message: Buffer };

/** A file with its bytes: path and data as written. */
export interface DecodedFile {
  path: Buffer;
  data: Buffer;
}

/** Parses one Exec blob; anything else throws a BuilderError `bad_der` naming the field and byte offset. */
export function decodeExec(buf: Buffer): DecodedExec {
  const top = new DerReader(buf);
  if (top.peekTag() === contextTag(1)) derError(0, 'exec', 'the reserved alternative [1], not a run');
  const outer = top.enter(contextTag(0), 'exec');
  top.finish('exec');
  const run = outer.enter(TAG.sequence, 'run');
  outer.finish('exec [0]');

  const job = run.enter(TAG.sequence, 'job');
  const name = job.read(TAG.utf8, 'job.name').content;
  const script = job.read(TAG.utf8, 'job.script').content;
  const files = readFiles(job.enter(TAG.sequence, 'job.files'), 'job.files');
  const platform = job.atEnd() ? null : job.read(TAG.utf8, 'job.platform').content;
  job.finish('job');

  const uuidTlv = run.read(TAG.utf8, 'uuid');
  if (uuidTlv.content.length !== 16) derError(uuidTlv.offset, 'uuid', `${uuidTlv.content.length} bytes, a UUID has 16`);

  const consoleReader = run.enter(TAG.sequence, 'console');
  const console: DecodedExec['console'] = [];
  while (!consoleReader.atEnd()) {
    const line = consoleReader.enter(TAG.sequence, 'console line');
    const delta = readInteger(line.read(TAG.integer, 'console delta'), 'console delta');
    console.push({ delta, line: line.read(TAG.utf8, 'console line').content });
    line.finish('console line');
  }
  console.reverse();

  const stamps = run.enter(TAG.sequence, 'timestamps');
  const started = readTime(stamps.readAny('timestamps.started'), 'timestamps.started');
  const finished = readTime(stamps.readAny('timestamps.finished'), 'timestamps.finished');
  stamps.finish('timestamps');

  const result = readResult(run);
  const artifacts = readFiles(run.enter(TAG.sequence, 'output'), 'output');
  run.finish('run');

  return {
    job: { name, script, files, platform },
    uuid: uuidText(uuidTlv.content),
    console,
    started: started.time,
    finished: finished.time,
    timeTypes: { started: started.type, finished: finished.type },
    result,
    artifacts,
  };
}

/** The decoded run as an ExecRun whose artifacts stream from memory, e.g. to re-encode or re-upload it. */
export function execRunOfDecoded(d: DecodedExec): ExecRun {
  return {
    job: d.job,
    uuid: d.uuid,
    console: d.console,
    started: d.started,
    finished: d.finished,
    result: d.result,
    // A blob carries no hashes: the bytes are in memory, so hashing them costs no extra read.
    artifacts: d.artifacts.map((a) => ({ path: a.path, size: a.data.length, sha256: createHash('sha256').update(a.data).digest('hex'), open: () => Readable.from([a.data]) })),
  };
}

function readFiles(seq: DerReader, what: string): DecodedFile[] {
  const out: DecodedFile[] = [];
  while (!seq.atEnd()) {
    const file = seq.enter(TAG.sequence, `${what} file`);
    const path = file.read(TAG.utf8, `${what} path`).content;
    const data = file.read(TAG.utf8, `${what} data`).content;
    file.finish(`${what} file`);
    out.push({ path, data });
  }
  return out;
}

function readResult(run: DerReader): DecodedResult {
  const tag = run.peekTag() ?? -1;
  if (tag < contextTag(0) || tag > contextTag(3)) {
    const tlv = run.readAny('result');
    derError(tlv.offset, 'result', `expected one of [0] to [3], found ${tagName(tlv.tag)}`);
  }
  const inner = run.enter(tag, 'result');
  let out: DecodedResult;
  if (tag === contextTag(3)) {
    out = { kind: 'failed', message: inner.read(TAG.utf8, 'result message').content };
  } else {
    const n = readInteger(inner.read(TAG.integer, 'result code'), 'result code');
    out = tag === contextTag(0) ? { kind: 'exited', code: n }
      : tag === contextTag(1) ? { kind: 'signalled', signal: n }
      : { kind: 'stopped', signal: n };
  }
  inner.finish('result');
  return out;
}

const GENERALIZED_RE = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?Z$/;
const UTC_RE = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

/** GeneralizedTime (as written) or UTCTime (older encoders), UTC with seconds, as DER has them. */
export function readTime(tlv: Tlv, what: string): { time: ExecTime; type: 'generalized' | 'utc' } {
  const text = tlv.content.toString('latin1');
  const shown = JSON.stringify(text.slice(0, 40));
  let m: RegExpExecArray | null;
  let year: number;
  if (tlv.tag === TAG.generalizedTime) {
    m = GENERALIZED_RE.exec(text);
    if (!m) derError(tlv.offset, what, `GeneralizedTime ${shown} is not YYYYMMDDHHMMSS[.f]Z`);
    year = Number(m[1]);
  } else if (tlv.tag === TAG.utcTime) {
    m = UTC_RE.exec(text);
    if (!m) derError(tlv.offset, what, `UTCTime ${shown} is not YYMMDDHHMMSSZ`);
    // X.680: two-digit years 50..99 are 19xx, 00..49 are 20xx.
    year = Number(m[1]) + (Number(m[1]) < 50 ? 2000 : 1900);
  } else {
    derError(tlv.offset, what, `expected GeneralizedTime or UTCTime, found ${tagName(tlv.tag)}`);
  }
  const [mo, d, h, mi, s] = m.slice(2, 7).map(Number) as [number, number, number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(year, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  // Date rolls 31 Feb over into March; a round trip through it catches impossible fields.
  const same = date.getUTCFullYear() === year && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d
    && date.getUTCHours() === h && date.getUTCMinutes() === mi && date.getUTCSeconds() === s;
  if (!same) derError(tlv.offset, what, `${shown} is not a valid date and time`);
  const type = tlv.tag === TAG.utcTime ? 'utc' : 'generalized';
  return { time: { seconds: date.getTime() / 1000, fraction: m[7] ?? '' }, type };
}

function uuidText(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
