import type { Outcome, Period } from '../protocol/types.js';
import { TAG, contextTag, header, integerOctets } from '../upload/der.js';
import { CMD_TAG, type Cmd, type OrigFile, type OrigInfo, type OrigJob, type ScheduleItem, type ScriptJob } from './cmd.js';

// DER encoder for the original protocol's `cmd` and the pieces the state
// file shares with it. Pure; values are small (a job_finished built here
// holds its files in memory: only tests and fixtures build those).

/** One element: tag, minimal length, then the content parts. */
export function el(tag: number, ...content: Buffer[]): Buffer {
  const size = content.reduce((n, c) => n + c.length, 0);
  return Buffer.concat([header(tag, size), ...content]);
}

const NULL = Buffer.from([TAG.null, 0]);

/** `[n] EXPLICIT inner`. */
export function explicit(n: number, inner: Buffer): Buffer {
  return el(contextTag(n), inner);
}

/** A UTF8String of a string's UTF-8 bytes, or of raw bytes. */
export function utf8(v: string | Buffer): Buffer {
  return el(TAG.utf8, typeof v === 'string' ? Buffer.from(v, 'utf8') : v);
}

/** An INTEGER. */
export function int(n: number): Buffer {
  return el(TAG.integer, integerOctets(n));
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A UUID as the original has it: a UTF8String of its 16 raw bytes. */
export function uuid(u: string): Buffer {
  if (!UUID_RE.test(u)) throw new RangeError(`not a lowercase UUID: ${JSON.stringify(u)}`);
  return utf8(Buffer.from(u.replaceAll('-', ''), 'hex'));
}

/** GeneralizedTime YYYYMMDDHHMMSS[.mmm]Z, the milliseconds only when not zero (as the original writes them). */
export function generalizedTime(d: Date): Buffer {
  const iso = d.toISOString();
  if (!/^\d{4}-/.test(iso)) throw new RangeError(`year out of range for GeneralizedTime: ${iso}`);
  const ms = iso.slice(20, 23);
  return el(TAG.generalizedTime, Buffer.from(`${iso.slice(0, 19).replace(/[-:T]/g, '')}${ms === '000' ? '' : `.${ms}`}Z`, 'latin1'));
}

const PERIOD_TAG: Record<Period, number> = { hourly: 0, daily: 1, weekly: 2, never: 3 };

/** period ::= CHOICE { hourly [0] NULL, daily [1] NULL, weekly [2] NULL, never [3] NULL }. */
export function period(p: Period): Buffer {
  return explicit(PERIOD_TAG[p], NULL);
}

/** script_job ::= SEQUENCE { name, script, files SEQUENCE OF file (always empty), platform OPTIONAL }; we always write the platform. */
export function scriptJob(j: ScriptJob): Buffer {
  return el(TAG.sequence, utf8(j.name), utf8(j.script), el(TAG.sequence), utf8(j.platform));
}

/** job ::= CHOICE { script_job [0], orb_build_job [1] SEQUENCE { name, opam_package } }. */
export function job(j: OrigJob): Buffer {
  return j.kind === 'script' ? explicit(0, scriptJob(j.job)) : explicit(1, el(TAG.sequence, utf8(j.name), utf8(j.opam_package)));
}

/** schedule ::= SEQUENCE { next CHOICE { UTCTime, GeneralizedTime }, period, job }. */
export function scheduleItem(s: ScheduleItem): Buffer {
  return el(TAG.sequence, generalizedTime(s.next), period(s.period), job(s.job));
}

/** The queue of one platform: SEQUENCE { platform, jobs SEQUENCE OF job }. */
export function queue(platform: string, jobs: OrigJob[]): Buffer {
  return el(TAG.sequence, utf8(platform), el(TAG.sequence, ...jobs.map(job)));
}

/** result ::= CHOICE { exited [0] INTEGER, signalled [1] INTEGER, stopped [2] INTEGER, msg [3] UTF8String }. */
export function result(o: Outcome): Buffer {
  switch (o.kind) {
    case 'exited':
      return explicit(0, int(o.code));
    case 'signalled':
      return explicit(1, int(o.signal));
    case 'stopped':
      return explicit(2, int(o.signal));
    case 'failed':
      return explicit(3, utf8(o.message));
  }
}

/** data ::= SEQUENCE OF SEQUENCE { path, data }. */
export function files(list: OrigFile[]): Buffer {
  return el(TAG.sequence, ...list.map((f) => el(TAG.sequence, utf8(f.path), utf8(f.data))));
}

function info(i: OrigInfo): Buffer {
  return el(
    TAG.sequence,
    el(TAG.sequence, ...i.schedule.map(scheduleItem)),
    el(TAG.sequence, ...i.queues.map((q) => queue(q.platform, q.jobs))),
    el(TAG.sequence, ...i.running.map((r) => el(TAG.sequence, generalizedTime(r.started), uuid(r.uuid), scriptJob(r.job)))),
    el(TAG.sequence, ...i.dropped.map((p) => utf8(p))),
  );
}

/** The DER bytes of one cmd (without the 8-byte length that frames it). */
export function encodeCmd(c: Cmd): Buffer {
  const T = CMD_TAG;
  switch (c.type) {
    case 'job_schedule':
      return explicit(T.job_schedule, el(TAG.sequence, uuid(c.uuid), scriptJob(c.job)));
    case 'job_finished':
      return explicit(T.job_finished, el(TAG.sequence, uuid(c.uuid), result(c.result), files(c.files)));
    case 'output':
      return explicit(T.output, el(TAG.sequence, uuid(c.uuid), utf8(c.line)));
    case 'output_timestamped':
      return explicit(T.output, el(TAG.sequence, uuid(c.uuid), utf8(c.line), int(c.ts)));
    case 'schedule':
      return explicit(T.schedule, el(TAG.sequence, period(c.period), scriptJob(c.job)));
    case 'info':
      return explicit(T.info, NULL);
    case 'info_reply':
      return explicit(T.info_reply, info(c.info));
    case 'unschedule':
      return explicit(T.unschedule, utf8(c.name));
    case 'observe':
      return explicit(T.observe, uuid(c.uuid));
    case 'schedule_orb_build':
      return explicit(T.schedule_orb_build, el(TAG.sequence, period(c.period), el(TAG.sequence, utf8(c.name), utf8(c.opam_package))));
    case 'reschedule':
      return explicit(T.reschedule, el(TAG.sequence, utf8(c.name), generalizedTime(c.next), ...(c.period ? [period(c.period)] : [])));
    case 'client_hello':
      return explicit(T.client_hello, el(TAG.sequence, explicit(c.role === 'client' ? 0 : 1, NULL), int(c.version)));
    case 'server_hello':
      return explicit(T.server_hello, NULL);
    case 'job_requested':
      return explicit(T.job_requested, utf8(c.platform));
    case 'drop_platform':
      return explicit(T.drop_platform, utf8(c.platform));
    case 'success':
      return explicit(T.success, NULL);
    case 'failure':
      return explicit(T.failure, utf8(c.message));
    case 'execute':
      return explicit(T.execute, el(TAG.sequence, utf8(c.name), ...(c.platform !== null ? [utf8(c.platform)] : [])));
    case 'undrop_platform':
      return explicit(T.undrop_platform, utf8(c.platform));
  }
}

/** The 8-byte big-endian length that precedes every cmd on the wire. */
export function frameHeader(length: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(length));
  return b;
}

/** One whole frame: length, then the cmd's DER. */
export function encodeFrame(c: Cmd): Buffer {
  const der = encodeCmd(c);
  return Buffer.concat([frameHeader(der.length), der]);
}
