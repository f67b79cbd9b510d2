import { checkName, decodeArtifactList, decodeOutcome, decodeScheduleSpec } from '../protocol/decode.js';
import { DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S, MAX_VERIFY, type Job } from '../protocol/types.js';
import { BuilderError } from '../shared/errors.js';
import { ALL_PLATFORMS, type GroupTag, type PlatformRecord, type QueueItem, type ResultRecord, type RunRecord, type ScheduleEntry, type TemplateRef } from './records.js';

// Records read from disk are validated here, at the boundary: a file an
// operator edited by hand may be anything. Older versions are upgraded here.

type Obj = Record<string, unknown>;

function object(text: string, what: string): Obj {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new BuilderError('bad_record', `${what} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BuilderError('bad_record', `${what} must be a JSON object`);
  const o = v as Obj;
  if (o.version !== undefined && o.version !== 1) throw new BuilderError('bad_record', `${what} has unknown version ${JSON.stringify(o.version)}`);
  return o;
}

function need(cond: unknown, what: string): asserts cond {
  if (!cond) throw new BuilderError('bad_record', what);
}

function isoOrNull(v: unknown, what: string): string | null {
  if (v === null || v === undefined) return null;
  need(typeof v === 'string' && !Number.isNaN(Date.parse(v)), `${what}: "next" must be an RFC 3339 time or null`);
  return new Date(v).toISOString();
}

/** Parses a job object; `platform` defaults to the queue directory it sits in. */
export function parseJob(v: unknown, what: string, platform?: string): Job {
  need(typeof v === 'object' && v !== null, `${what}: "job" must be an object`);
  const j = v as Obj;
  need(typeof j.name === 'string', `${what}: job.name must be a string`);
  need(typeof j.script === 'string', `${what}: job.script must be a string`);
  const p = j.platform ?? platform;
  need(typeof p === 'string', `${what}: job.platform must be a string`);
  const t = j.timeout_s ?? DEFAULT_TIMEOUT_S;
  need(typeof t === 'number' && Number.isInteger(t) && t > 0 && t <= MAX_TIMEOUT_S, `${what}: job.timeout_s must be a whole number of seconds from 1 to ${MAX_TIMEOUT_S} (7 days)`);
  return { name: checkName('job', j.name), platform: checkName('platform', p), script: j.script, timeout_s: t };
}

/** Parses schedule/<name>.json. */
export function parseScheduleEntry(text: string, what: string): ScheduleEntry {
  const o = object(text, what);
  const template = o.template === undefined ? undefined : parseTemplate(o.template, what);
  // A template job fans out to every platform (`*`) and has no script of its own.
  const spec = decodeScheduleSpec({
    type: 'schedule entry',
    ...o,
    ...(template ? { platform: o.platform === ALL_PLATFORMS ? 'any' : o.platform, script: '' } : {}),
  });
  return {
    version: 1,
    name: spec.name,
    platform: template && o.platform === ALL_PLATFORMS ? ALL_PLATFORMS : spec.platform,
    script: spec.script,
    ...(template ? { template } : {}),
    period: spec.period,
    ...(spec.cron !== undefined ? { cron: spec.cron } : {}),
    ...(spec.tz !== undefined ? { tz: spec.tz } : {}),
    timeout_s: spec.timeout_s ?? DEFAULT_TIMEOUT_S,
    next: isoOrNull(o.next, what),
    ...(spec.allow_overlap ? { allow_overlap: true } : {}),
    ...(spec.verify ? { verify: spec.verify } : {}),
  };
}

const GROUP_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Parses the optional `group` of a queue item, run or result: {id (a UUID), index 1..of, of 2..MAX_VERIFY}. */
export function parseGroupTag(v: unknown, what: string): GroupTag | undefined {
  if (v === undefined || v === null) return undefined;
  need(typeof v === 'object', `${what}: group must be an object`);
  const g = v as Obj;
  need(typeof g.id === 'string' && GROUP_ID_RE.test(g.id), `${what}: group.id must be a UUID`);
  need(typeof g.of === 'number' && Number.isInteger(g.of) && g.of >= 2 && g.of <= MAX_VERIFY, `${what}: group.of must be 2..${MAX_VERIFY}`);
  need(typeof g.index === 'number' && Number.isInteger(g.index) && g.index >= 1 && g.index <= g.of, `${what}: group.index must be 1..group.of`);
  return { id: g.id, index: g.index, of: g.of };
}

function withGroup<T extends object>(record: T, v: unknown, what: string): T & { group?: GroupTag } {
  const group = parseGroupTag(v, what);
  const { group: _drop, ...rest } = record as T & { group?: unknown };
  return group ? { ...(rest as T), group } : (rest as T);
}

function parseTemplate(v: unknown, what: string): TemplateRef {
  need(typeof v === 'object' && v !== null, `${what}: template must be an object`);
  const t = v as Obj;
  need(t.name === 'orb-build', `${what}: template.name must be "orb-build"`);
  need(typeof t.opam_package === 'string', `${what}: template.opam_package must be a string`);
  return { name: 'orb-build', opam_package: checkName('opam package', t.opam_package) };
}

/** Parses queue/<platform>/<file>.json; a hand-written file may hold just {"job":{"name","script"}}. */
export function parseQueueItem(text: string, what: string, platform: string): QueueItem {
  const o = object(text, what);
  const job = parseJob(o.job, what, platform);
  need(job.platform === platform, `${what}: job.platform "${job.platform}" does not match its queue "${platform}"`);
  const retries = o.retries ?? 0;
  need(typeof retries === 'number' && Number.isInteger(retries) && retries >= 0, `${what}: retries must be a count`);
  const queued = typeof o.queued === 'string' && !Number.isNaN(Date.parse(o.queued)) ? o.queued : new Date().toISOString();
  return withGroup({ version: 1 as const, job, queued, retries }, o.group, what);
}

/** Parses running/<id>/run.json. */
export function parseRunRecord(text: string, what: string): RunRecord {
  const o = object(text, what);
  need(typeof o.run_id === 'string' && typeof o.started === 'string' && typeof o.queued === 'string', `${what}: run_id, queued and started are required`);
  need(typeof o.worker === 'object' && o.worker !== null, `${what}: worker is required`);
  return withGroup({ ...(o as unknown as RunRecord), version: 1, job: parseJob(o.job, what), retries: Number(o.retries ?? 0) }, o.group, what);
}

/** Parses results/<job>/<id>/result.json. */
export function parseResultRecord(text: string, what: string): ResultRecord {
  const o = object(text, what);
  need(typeof o.run_id === 'string' && typeof o.started === 'string' && typeof o.finished === 'string', `${what}: run_id, started and finished are required`);
  need(typeof o.outcome === 'object' && o.outcome !== null, `${what}: outcome is required`);
  need(Array.isArray(o.artifacts), `${what}: artifacts must be a list`);
  // Results stored before hashes were recorded have no sha256 on their artifacts: they still load, without it.
  return withGroup(
    {
      ...(o as unknown as ResultRecord),
      version: 1,
      job: parseJob(o.job, what),
      outcome: decodeOutcome(o.outcome as Obj),
      artifacts: decodeArtifactList(o.artifacts, what),
      console_lines: Number(o.console_lines ?? 0),
      retries: Number(o.retries ?? 0),
      worker: (o.worker as ResultRecord['worker']) ?? null,
    },
    o.group,
    what,
  );
}

/** Parses platforms/<platform>.json. */
export function parsePlatformRecord(text: string, what: string): PlatformRecord {
  const o = object(text, what);
  need(typeof o.platform === 'string', `${what}: platform is required`);
  return { version: 1, platform: checkName('platform', o.platform), dropped: o.dropped === true, paused: o.paused === true };
}
