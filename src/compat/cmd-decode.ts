import type { Outcome, Period } from '../protocol/types.js';
import { DerReader, TAG, contextTag, derError, readInteger, tagName } from '../upload/der.js';
import { readTime } from '../upload/exec-decode.js';
import { dateOfExecTime } from '../upload/exec-run.js';
import { CMD_TAG, NO_PLATFORM, type Cmd, type OrigFile, type OrigInfo, type OrigJob, type ScheduleItem, type ScriptJob } from './cmd.js';

// Strict DER decoder for the original protocol's `cmd` and the pieces the
// state file shares with it. Pure; every malformed input throws
// BuilderError('bad_der') naming the field and the byte offset.

/** The content of a UTF8String as text (the original's bytes, read as UTF-8). */
export function text(r: DerReader, what: string): string {
  return r.read(TAG.utf8, what).content.toString('utf8');
}

/** Reads `[n] EXPLICIT NULL`-style content: exactly one NULL. */
function readNull(r: DerReader, what: string): void {
  const tlv = r.read(TAG.null, what);
  if (tlv.content.length !== 0) derError(tlv.offset, what, 'NULL with content');
  r.finish(what);
}

/** The tag number n of a `[n]` element at the reader, checked against [lo, hi]. */
function choiceTag(r: DerReader, what: string, lo: number, hi: number): number {
  const tag = r.peekTag();
  if (tag === undefined || tag < contextTag(lo) || tag > contextTag(hi)) {
    const tlv = r.readAny(what);
    derError(tlv.offset, what, `expected one of [${lo}] to [${hi}], found ${tagName(tlv.tag)}`);
  }
  return tag & 0x1f;
}

/** A UUID: a UTF8String of exactly 16 bytes, returned as canonical text. */
export function uuid(r: DerReader, what = 'uuid'): string {
  const tlv = r.read(TAG.utf8, what);
  if (tlv.content.length !== 16) derError(tlv.offset, what, `${tlv.content.length} bytes, a UUID has 16`);
  const h = tlv.content.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** UTCTime or GeneralizedTime, as a Date (milliseconds kept). */
export function time(r: DerReader, what: string): Date {
  return dateOfExecTime(readTime(r.readAny(what), what).time);
}

const PERIODS: Period[] = ['hourly', 'daily', 'weekly', 'never'];

/** period: [0] hourly, [1] daily, [2] weekly, [3] never, each EXPLICIT NULL. */
export function period(r: DerReader, what = 'period'): Period {
  const n = choiceTag(r, what, 0, 3);
  readNull(r.enter(contextTag(n), what), what);
  return PERIODS[n]!;
}

/** script_job; without a platform it gets the original's default, `no-platform`. Job files are read and dropped. */
export function scriptJob(outer: DerReader, what = 'script_job'): ScriptJob {
  const r = outer.enter(TAG.sequence, what);
  const name = text(r, `${what}.name`);
  const script = text(r, `${what}.script`);
  files(r, `${what}.files`);
  const platform = r.atEnd() ? NO_PLATFORM : text(r, `${what}.platform`);
  r.finish(what);
  return { name, platform, script };
}

/** job: [0] script_job | [1] orb_build_job. */
export function job(r: DerReader, what = 'job'): OrigJob {
  const n = choiceTag(r, what, 0, 1);
  const inner = r.enter(contextTag(n), what);
  let out: OrigJob;
  if (n === 0) {
    out = { kind: 'script', job: scriptJob(inner, `${what}.script_job`) };
  } else {
    const s = inner.enter(TAG.sequence, `${what}.orb_build_job`);
    out = { kind: 'orb_build', name: text(s, `${what}.name`), opam_package: text(s, `${what}.opam_package`) };
    s.finish(`${what}.orb_build_job`);
  }
  inner.finish(what);
  return out;
}

/** schedule: SEQUENCE { next, period, job }. */
export function scheduleItem(outer: DerReader, what = 'schedule'): ScheduleItem {
  const r = outer.enter(TAG.sequence, what);
  const item = { next: time(r, `${what}.next`), period: period(r, `${what}.period`), job: job(r, `${what}.job`) };
  r.finish(what);
  return item;
}

/** A platform's queue: SEQUENCE { platform, SEQUENCE OF job }. */
export function queue(outer: DerReader, what = 'queue'): { platform: string; jobs: OrigJob[] } {
  const r = outer.enter(TAG.sequence, what);
  const platform = text(r, `${what}.platform`);
  const jobs = seqOf(r, `${what}.jobs`, (s) => job(s, `${what}.job`));
  r.finish(what);
  return { platform, jobs };
}

/** Reads a SEQUENCE OF, one element at a time with `each`. */
export function seqOf<T>(outer: DerReader, what: string, each: (r: DerReader) => T): T[] {
  const r = outer.enter(TAG.sequence, what);
  const out: T[] = [];
  while (!r.atEnd()) out.push(each(r));
  return out;
}

/** result: [0] exited, [1] signalled, [2] stopped (INTEGER each), [3] a message. */
export function result(r: DerReader, what = 'result'): Outcome {
  const n = choiceTag(r, what, 0, 3);
  const inner = r.enter(contextTag(n), what);
  let out: Outcome;
  if (n === 3) out = { kind: 'failed', message: text(inner, `${what} message`) };
  else {
    const v = readInteger(inner.read(TAG.integer, `${what} code`), `${what} code`);
    out = n === 0 ? { kind: 'exited', code: v } : n === 1 ? { kind: 'signalled', signal: v } : { kind: 'stopped', signal: v };
  }
  inner.finish(what);
  return out;
}

/** data: SEQUENCE OF SEQUENCE { path, data }. */
export function files(r: DerReader, what = 'data'): OrigFile[] {
  return seqOf(r, what, (s) => {
    const f = s.enter(TAG.sequence, `${what} file`);
    const path = text(f, `${what} path`);
    const data = Buffer.from(f.read(TAG.utf8, `${what} data`).content);
    f.finish(`${what} file`);
    return { path, data };
  });
}

function info(outer: DerReader, withDropped: boolean): OrigInfo {
  const r = outer.enter(TAG.sequence, 'info');
  const schedule = seqOf(r, 'info.schedule', (s) => scheduleItem(s, 'info.schedule'));
  const queues = seqOf(r, 'info.queues', (s) => queue(s, 'info.queue'));
  const running = seqOf(r, 'info.running', (s) => {
    const e = s.enter(TAG.sequence, 'info.running');
    const v = { started: time(e, 'info.running.started'), uuid: uuid(e, 'info.running.uuid'), job: scriptJob(e, 'info.running.job') };
    e.finish('info.running');
    return v;
  });
  const dropped = withDropped ? seqOf(r, 'info.dropped', (s) => text(s, 'info.dropped')) : [];
  r.finish('info');
  return { schedule, queues, running, dropped };
}

/** Parses one whole cmd (the bytes of one frame); trailing bytes are an error, as in the original. */
export function decodeCmd(buf: Buffer): Cmd {
  const top = new DerReader(buf);
  const n = choiceTag(top, 'cmd', 0, 22);
  const r = top.enter(contextTag(n), `cmd [${n}]`);
  top.finish('cmd');
  const cmd = decodeAlternative(n, r, buf);
  r.finish(`cmd [${n}]`);
  return cmd;
}

function decodeAlternative(n: number, r: DerReader, buf: Buffer): Cmd {
  const T = CMD_TAG;
  const seq = (what: string) => r.enter(TAG.sequence, what);
  switch (n) {
    case T.job_schedule: {
      const s = seq('job_schedule');
      const c: Cmd = { type: 'job_schedule', uuid: uuid(s), job: scriptJob(s) };
      s.finish('job_schedule');
      return c;
    }
    case T.job_finished: {
      const s = seq('job_finished');
      const c: Cmd = { type: 'job_finished', uuid: uuid(s), result: result(s), files: files(s) };
      s.finish('job_finished');
      return c;
    }
    case T.output: {
      const s = seq('output');
      const id = uuid(s);
      const line = text(s, 'output.line');
      const ts = s.atEnd() ? null : readInteger(s.read(TAG.integer, 'output.timestamp'), 'output.timestamp');
      s.finish('output');
      return ts === null ? { type: 'output', uuid: id, line } : { type: 'output_timestamped', uuid: id, ts, line };
    }
    case T.schedule: {
      const s = seq('schedule');
      const c: Cmd = { type: 'schedule', period: period(s), job: scriptJob(s) };
      s.finish('schedule');
      return c;
    }
    case T.info:
      readNull(r, 'info');
      return { type: 'info' };
    case T.info_reply_old:
      return { type: 'info_reply', info: info(r, false) };
    case T.info_reply:
      return { type: 'info_reply', info: info(r, true) };
    case T.unschedule:
      return { type: 'unschedule', name: text(r, 'unschedule') };
    case T.observe:
      return { type: 'observe', uuid: uuid(r, 'observe') };
    case T.execute_old:
      return { type: 'execute', name: text(r, 'execute'), platform: null };
    case T.execute: {
      const s = seq('execute');
      const name = text(s, 'execute.name');
      const platform = s.atEnd() ? null : text(s, 'execute.platform');
      s.finish('execute');
      return { type: 'execute', name, platform };
    }
    case T.schedule_orb_build: {
      const s = seq('schedule_orb_build');
      const p = period(s);
      const j = s.enter(TAG.sequence, 'orb_build_job');
      const c: Cmd = { type: 'schedule_orb_build', period: p, name: text(j, 'orb_build_job.name'), opam_package: text(j, 'orb_build_job.opam_package') };
      j.finish('orb_build_job');
      s.finish('schedule_orb_build');
      return c;
    }
    case T.reschedule: {
      const s = seq('reschedule');
      const name = text(s, 'reschedule.name');
      const next = time(s, 'reschedule.next');
      const p = s.atEnd() ? null : period(s, 'reschedule.period');
      s.finish('reschedule');
      return { type: 'reschedule', name, next, period: p };
    }
    case T.client_hello: {
      const s = seq('client_hello');
      const role = choiceTag(s, 'client_hello.typ', 0, 1) === 0 ? 'client' : 'worker';
      readNull(s.enter(contextTag(role === 'client' ? 0 : 1), 'client_hello.typ'), 'client_hello.typ');
      const version = readInteger(s.read(TAG.integer, 'client_hello.version'), 'client_hello.version');
      s.finish('client_hello');
      return { type: 'client_hello', role, version };
    }
    case T.server_hello:
      readNull(r, 'server_hello');
      return { type: 'server_hello' };
    case T.job_requested:
      return { type: 'job_requested', platform: text(r, 'job_requested') };
    case T.drop_platform:
      return { type: 'drop_platform', platform: text(r, 'drop_platform') };
    case T.success:
      readNull(r, 'success');
      return { type: 'success' };
    case T.failure:
      return { type: 'failure', message: text(r, 'failure') };
    case T.undrop_platform:
      return { type: 'undrop_platform', platform: text(r, 'undrop_platform') };
    default:
      // [0], [1], [8]: forms the original itself no longer accepts.
      return derError(0, `cmd [${n}]`, `an alternative the original protocol no longer uses (${buf.length} bytes)`);
  }
}
