import { promises as fs } from 'node:fs';
import { decodeArtifactList, decodeOutcome } from '../protocol/decode.js';
import type { ArtifactInfo, Outcome } from '../protocol/types.js';
import { BuilderError } from '../shared/errors.js';
import { recordText, writeAtomic } from './atomic.js';
import type { Spool } from './spool.js';

// groups/<group-id>.json: one verify group, the N builds of one due run that
// must give the same artifacts. Written like every record (tmp/, fsync,
// rename, fsync the directory); a file that does not parse is quarantined.

/** Who built one member: the worker connection, its host and its process (`instance`, null from older workers). */
export interface GroupBuilder {
  id: string;
  hostname: string;
  instance: string | null;
}

/** One build of the group: waiting (outcome null) until its final run is stored, or it was removed. */
export interface GroupMember {
  index: number;
  run_id: string | null;
  worker: GroupBuilder | null;
  outcome: Outcome | null;
  finished: string | null;
  /** The artifacts of its run (path, size, mode, sha256): the group is decided from these, even after the results were uploaded and removed. */
  artifacts: ArtifactInfo[];
}

/** What the group found once every build finished. */
export type GroupOutcome =
  | { kind: 'reproducible' }
  | { kind: 'differs'; paths: { path: string; why: string }[] }
  | { kind: 'incomplete'; message: string };

interface GroupBase {
  version: 1;
  group_id: string;
  job: string;
  platform: string;
  /** How many builds (N of --verify N). */
  builds: number;
  created: string;
  /** SHA-256 of the script every build ran. */
  script_sha256: string;
  members: GroupMember[];
}

/** groups/<id>.json: building until every member has an outcome, then decided (never back). */
export type GroupRecord =
  | (GroupBase & { phase: 'building'; outcome: null; decided: null; distinct: null })
  | (GroupBase & {
      phase: 'decided';
      outcome: GroupOutcome;
      decided: string;
      /** What set the builders apart: `hosts` (each build on its own host) or `workers` (different worker processes, some on one host); null when not every build ran. */
      distinct: 'hosts' | 'workers' | null;
    });

type Obj = Record<string, unknown>;

function need(cond: unknown, what: string): asserts cond {
  if (!cond) throw new BuilderError('bad_record', what);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function parseMember(v: unknown, i: number, what: string): GroupMember {
  need(typeof v === 'object' && v !== null, `${what}: members[${i}] must be an object`);
  const m = v as Obj;
  need(m.index === i + 1, `${what}: members[${i}].index must be ${i + 1}`);
  const w = m.worker as Obj | null | undefined;
  need(w === null || w === undefined || (typeof w === 'object' && typeof w.id === 'string' && typeof w.hostname === 'string'), `${what}: members[${i}].worker must be null or {id, hostname, instance}`);
  return {
    index: i + 1,
    run_id: typeof m.run_id === 'string' ? m.run_id : null,
    worker: w ? { id: String(w.id), hostname: String(w.hostname), instance: typeof w.instance === 'string' ? w.instance : null } : null,
    outcome: m.outcome === null || m.outcome === undefined ? null : decodeOutcome(m.outcome as Obj),
    finished: typeof m.finished === 'string' ? m.finished : null,
    artifacts: decodeArtifactList(m.artifacts ?? [], what),
  };
}

function parseOutcome(v: unknown, what: string): GroupOutcome {
  need(typeof v === 'object' && v !== null, `${what}: outcome must be an object`);
  const o = v as Obj;
  if (o.kind === 'reproducible') return { kind: 'reproducible' };
  if (o.kind === 'incomplete') return { kind: 'incomplete', message: String(o.message ?? '') };
  need(o.kind === 'differs' && Array.isArray(o.paths), `${what}: outcome.kind must be reproducible, differs (with paths) or incomplete`);
  return { kind: 'differs', paths: (o.paths as Obj[]).map((p) => ({ path: String(p?.path), why: String(p?.why ?? '') })) };
}

/** Parses groups/<id>.json (validated: an operator may have edited it). */
export function parseGroupRecord(text: string, what: string): GroupRecord {
  let o: Obj;
  try {
    o = JSON.parse(text) as Obj;
  } catch (e) {
    throw new BuilderError('bad_record', `${what} is not valid JSON: ${(e as Error).message}`);
  }
  need(typeof o === 'object' && o !== null && !Array.isArray(o), `${what} must be a JSON object`);
  need(o.version === 1, `${what} has unknown version ${JSON.stringify(o.version)}`);
  need(typeof o.group_id === 'string' && UUID_RE.test(o.group_id), `${what}: group_id must be a UUID`);
  need(typeof o.job === 'string' && typeof o.platform === 'string' && typeof o.created === 'string', `${what}: job, platform and created are required`);
  need(typeof o.builds === 'number' && Number.isInteger(o.builds) && o.builds >= 2, `${what}: builds must be a count of at least 2`);
  need(Array.isArray(o.members) && o.members.length === o.builds, `${what}: members must list ${String(o.builds)} builds`);
  const base: GroupBase = {
    version: 1,
    group_id: o.group_id,
    job: o.job,
    platform: o.platform,
    builds: o.builds,
    created: o.created,
    script_sha256: String(o.script_sha256 ?? ''),
    members: o.members.map((m, i) => parseMember(m, i, what)),
  };
  if (o.phase !== 'decided') return { ...base, phase: 'building', outcome: null, decided: null, distinct: null };
  const distinct = o.distinct === 'hosts' || o.distinct === 'workers' ? o.distinct : null;
  return { ...base, phase: 'decided', outcome: parseOutcome(o.outcome, what), decided: String(o.decided ?? ''), distinct };
}

/** Writes a group record atomically; rejects on any failure. */
export function putGroup(spool: Spool, g: GroupRecord): Promise<void> {
  return writeAtomic(spool.path('tmp'), spool.path('groups', `${g.group_id}.json`), recordText(g));
}

/** Reads one group record; null when absent or quarantined. */
export async function readGroup(spool: Spool, id: string): Promise<GroupRecord | null> {
  if (!UUID_RE.test(id)) return null;
  const rel = `groups/${id}.json`;
  return spool.readRecord(rel, (text, what) => {
    const g = parseGroupRecord(text, what);
    if (g.group_id !== id) throw new BuilderError('bad_record', `${what}: group_id ${g.group_id} does not match the file name`);
    return g;
  });
}

/** Every group record (bad ones quarantined). */
export async function listGroups(spool: Spool): Promise<GroupRecord[]> {
  let names: string[];
  try {
    names = await fs.readdir(spool.path('groups'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: GroupRecord[] = [];
  for (const n of names.sort()) {
    if (!n.endsWith('.json') || n.startsWith('.')) continue;
    const g = await readGroup(spool, n.slice(0, -5));
    if (g) out.push(g);
  }
  return out;
}
