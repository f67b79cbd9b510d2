import { BuilderError, oneLine } from '../shared/errors.js';
import { PROTOCOL_VERSION } from '../shared/version.js';
import type { ClientMessage, Hello, ScheduleSpec, ServerMessage, WorkerMessage } from './messages.js';
import { DEFAULT_PERIOD, MAX_TIMEOUT_S, MAX_VERIFY, NAME_RE, NAME_RULE, PERIODS, type ArtifactInfo, type Outcome, type Period, type WorkerFacts } from './types.js';

// The only place untyped JSON becomes a message: every field is checked here,
// so the rest of the code can trust what it gets.

type Obj = Record<string, unknown>;

function bad(what: string): never {
  // Messages quote what the peer sent: keep them one line and short.
  throw new BuilderError('bad_message', oneLine(what));
}

function parseObject(line: string): Obj {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    bad(`not JSON: ${JSON.stringify(line.slice(0, 60))}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('a message must be a JSON object');
  if (typeof (v as Obj).type !== 'string') bad('a message needs a string "type"');
  return v as Obj;
}

function str(o: Obj, k: string, max = 1 << 20): string {
  const v = o[k];
  if (typeof v !== 'string') bad(`${String(o.type)}: field "${k}" must be a string`);
  if (v.length > max) bad(`${String(o.type)}: field "${k}" is longer than ${max}`);
  return v;
}
function optStr(o: Obj, k: string, max?: number): string | undefined {
  return o[k] === undefined || o[k] === null ? undefined : str(o, k, max);
}
function int(o: Obj, k: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    bad(`${String(o.type)}: field "${k}" must be an integer from ${min} to ${max}`);
  return v;
}
function optInt(o: Obj, k: string, min?: number, max?: number): number | undefined {
  return o[k] === undefined || o[k] === null ? undefined : int(o, k, min, max);
}
function obj(o: Obj, k: string): Obj {
  const v = o[k];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(`${String(o.type)}: field "${k}" must be an object`);
  return v as Obj;
}

/** observe's `print`: the format the observer wants output_block frames in; any other value (a newer client's format) means per-line output, which every client reads. */
function optPrint(o: Obj): 'text' | 'json' | undefined {
  return o.print === 'text' || o.print === 'json' ? o.print : undefined;
}

/** The biggest output_block a client takes (a block is ~256 KiB of console; a single long line may make it bigger). */
export const MAX_PRINTED_BLOCK = 256 << 20;

/** Checks a job or platform name against NAME_RE; returns it. */
export function checkName(what: string, v: string): string {
  if (!NAME_RE.test(v)) bad(`bad ${what} name ${JSON.stringify(v.slice(0, 120))}: use ${NAME_RULE}`);
  return v;
}

const RUN_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Checks a run id is a lowercase UUID (it becomes a directory name). */
export function checkRunId(v: string): string {
  if (!RUN_ID_RE.test(v)) bad(`bad run id ${JSON.stringify(v.slice(0, 60))}: expected a UUID`);
  return v;
}

const RUN_ID_PREFIX_RE = /^[0-9a-f]{4}[0-9a-f-]{0,32}$/;
/** Checks a run id as a client may give it: a whole UUID, or its first 4 or more characters (the server resolves a prefix). */
export function checkRunIdOrPrefix(v: string): string {
  if (RUN_ID_RE.test(v)) return v;
  const shape = 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx';
  const fits = RUN_ID_PREFIX_RE.test(v) && [...v].every((c, i) => (shape[i] === '-') === (c === '-'));
  if (!fits) bad(`bad run id ${JSON.stringify(v.slice(0, 60))}: expected a UUID or its first 4 or more characters`);
  return v;
}

/** Whether a string is an RFC 3339 date-time with a zone (Z or an offset). */
export function isRfc3339(v: string): boolean {
  return /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v));
}

function period(o: Obj, k: string): Period {
  const v = str(o, k);
  if (!(PERIODS as readonly string[]).includes(v)) bad(`bad period "${v}": use ${PERIODS.join(', ')}`);
  return v as Period;
}

/** Decodes an outcome object (also used for spool records). */
export function decodeOutcome(o: Obj): Outcome {
  switch (o.kind) {
    case 'exited':
      return { kind: 'exited', code: int(o, 'code', 0, 255) };
    case 'signalled':
      return { kind: 'signalled', signal: int(o, 'signal', 0, 255) };
    case 'stopped':
      return { kind: 'stopped', signal: int(o, 'signal', 0, 255) };
    case 'failed':
      return { kind: 'failed', message: str(o, 'message', 4096) };
    default:
      return bad(`unknown outcome kind ${JSON.stringify(o.kind)}`);
  }
}

function facts(o: Obj): WorkerFacts {
  return {
    platform: checkName('platform', str(o, 'platform', 100)),
    hostname: str(o, 'hostname', 255),
    os: str(o, 'os', 100),
    release: str(o, 'release', 100),
    arch: str(o, 'arch', 100),
    cpus: int(o, 'cpus', 0, 1 << 20),
    memory: int(o, 'memory'),
    version: str(o, 'version', 100),
    ...(typeof o.instance === 'string' && /^[0-9a-f]{8,64}$/.test(o.instance) ? { instance: o.instance } : {}),
  };
}

/** Reads an optional `verify` count: absent, or 2..MAX_VERIFY builds per due run. */
function optVerify(o: Obj): number | undefined {
  return optInt(o, 'verify', 2, MAX_VERIFY);
}

const SHA256_RE = /^[0-9a-f]{64}$/;

/** Decodes a list of artifact entries (replies and spool records): path, size, mode and an optional sha256. */
export function decodeArtifactList(v: unknown, what: string): ArtifactInfo[] {
  if (!Array.isArray(v)) bad(`${what}: artifacts must be a list`);
  return v.map((a: unknown) => {
    if (typeof a !== 'object' || a === null) bad(`${what}: an artifact must be an object`);
    const o: Obj = { type: what, ...(a as Obj) };
    const out: ArtifactInfo = { path: str(o, 'path', 4096), size: int(o, 'size'), mode: int(o, 'mode', 0, 0o7777) };
    if (o.sha256 !== undefined) {
      if (typeof o.sha256 !== 'string' || !SHA256_RE.test(o.sha256)) bad(`${what}: artifact ${out.path}: sha256 must be 64 lowercase hex digits`);
      out.sha256 = o.sha256;
    }
    return out;
  });
}

/** Decodes the first line of a connection. */
export function decodeHello(line: string): Hello {
  const o = parseObject(line);
  if (o.type !== 'hello') bad(`expected a hello first, got "${String(o.type)}"`);
  const version = int(o, 'version');
  // First, before any other field: another version's hello may look different in every other way.
  if (version !== PROTOCOL_VERSION)
    throw new BuilderError('version_mismatch', `protocol version mismatch: you speak ${version}, this server speaks ${PROTOCOL_VERSION} (upgrade the older side)`);
  const token = optStr(o, 'token', 4096);
  if (o.role === 'client') return { type: 'hello', role: 'client', version, token };
  if (o.role === 'worker') return { type: 'hello', role: 'worker', version, token, worker: facts(obj(o, 'worker')), ...(o.stored_acks === true ? { stored_acks: true } : {}), ...(o.received_acks === true ? { received_acks: true } : {}) };
  return bad(`hello: role must be "client" or "worker"`);
}

/** Decodes a schedule spec from a client (or a `schedule --from` file line). */
export function decodeScheduleSpec(o: Obj): ScheduleSpec {
  const spec: ScheduleSpec = {
    name: checkName('job', str(o, 'name', 100)),
    platform: checkName('platform', str(o, 'platform', 100)),
    script: str(o, 'script', 1 << 20),
    period: o.period === undefined ? (o.cron === undefined || o.cron === null ? DEFAULT_PERIOD : 'never') : period(o, 'period'),
  };
  const cron = optStr(o, 'cron', 200);
  if (cron !== undefined) spec.cron = cron;
  const tz = optStr(o, 'tz', 100);
  if (tz !== undefined) spec.tz = tz;
  const timeout = optInt(o, 'timeout_s', 1, MAX_TIMEOUT_S);
  if (timeout !== undefined) spec.timeout_s = timeout;
  if (o.allow_overlap !== undefined) spec.allow_overlap = o.allow_overlap === true;
  const verify = optVerify(o);
  if (verify !== undefined) spec.verify = verify;
  return spec;
}

/** Decodes one command line from a client. */
export function decodeClientMessage(line: string): ClientMessage {
  const o = parseObject(line);
  switch (o.type) {
    case 'schedule': {
      const m: ClientMessage = { type: 'schedule', job: decodeScheduleSpec({ type: 'schedule', ...obj(o, 'job') }) };
      if (o.replace === true) m.replace = true;
      if (o.now === true) m.now = true;
      return m;
    }
    case 'unschedule':
      return { type: 'unschedule', name: checkName('job', str(o, 'name', 100)) };
    case 'execute': {
      const platform = optStr(o, 'platform', 100);
      const m: ClientMessage = { type: 'execute', name: checkName('job', str(o, 'name', 100)) };
      if (platform !== undefined) m.platform = checkName('platform', platform);
      const verify = optVerify(o);
      if (verify !== undefined) m.verify = verify;
      return m;
    }
    case 'info': {
      const limit = optInt(o, 'limit');
      return limit === undefined ? { type: 'info' } : { type: 'info', limit };
    }
    case 'observe': {
      const from = optInt(o, 'from');
      const m: ClientMessage = { type: 'observe', run_id: checkRunIdOrPrefix(str(o, 'run_id', 36)) };
      if (from !== undefined) m.from = from;
      const print = optPrint(o);
      if (print) m.print = print;
      return m;
    }
    case 'schedule_batch':
      return o.replace === true ? { type: 'schedule_batch', count: int(o, 'count', 1, 100_000), replace: true } : { type: 'schedule_batch', count: int(o, 'count', 1, 100_000) };
    case 'orb_build': {
      const m: ClientMessage = {
        type: 'orb_build',
        name: checkName('job', str(o, 'name', 100)),
        opam_package: checkName('opam package', str(o, 'opam_package', 100)),
        period: o.period === undefined ? (o.cron === undefined || o.cron === null ? DEFAULT_PERIOD : 'never') : period(o, 'period'),
      };
      const cron = optStr(o, 'cron', 200);
      if (cron !== undefined) m.cron = cron;
      const tz = optStr(o, 'tz', 100);
      if (tz !== undefined) m.tz = tz;
      const platform = optStr(o, 'platform', 100);
      if (platform !== undefined) m.platform = checkName('platform', platform);
      const timeout = optInt(o, 'timeout_s', 1, MAX_TIMEOUT_S);
      if (timeout !== undefined) m.timeout_s = timeout;
      const verify = optVerify(o);
      if (verify !== undefined) m.verify = verify;
      return m;
    }
    case 'reschedule': {
      const next = o.next === undefined && o.cron !== undefined ? undefined : str(o, 'next', 64);
      if (next !== undefined && !isRfc3339(next)) bad(`bad time "${next}": expected RFC 3339, e.g. 2026-12-01T03:00:00Z`);
      const m: ClientMessage = { type: 'reschedule', name: checkName('job', str(o, 'name', 100)) };
      if (next !== undefined) m.next = new Date(next).toISOString();
      if (o.period !== undefined) m.period = period(o, 'period');
      const cron = optStr(o, 'cron', 200);
      if (cron !== undefined) m.cron = cron;
      const tz = optStr(o, 'tz', 100);
      if (tz !== undefined) m.tz = tz;
      return m;
    }
    case 'observe_latest': {
      const m: ClientMessage = { type: 'observe_latest' };
      const platform = optStr(o, 'platform', 100);
      if (platform !== undefined) m.platform = checkName('platform', platform);
      const job = optStr(o, 'job', 100);
      if (job !== undefined) m.job = checkName('job', job);
      const from = optInt(o, 'from');
      if (from !== undefined) m.from = from;
      const print = optPrint(o);
      if (print) m.print = print;
      return m;
    }
    case 'cancel':
      return { type: 'cancel', run_id: checkRunIdOrPrefix(str(o, 'run_id', 36)) };
    case 'fetch': {
      const m: ClientMessage = { type: 'fetch', run_id: checkRunIdOrPrefix(str(o, 'run_id', 36)) };
      if (o.paths !== undefined) {
        if (!Array.isArray(o.paths) || o.paths.length > 10_000 || !o.paths.every((p) => typeof p === 'string' && p.length <= 4096))
          bad('fetch: "paths" must be a list of at most 10000 artifact paths');
        m.paths = o.paths as string[];
      }
      return m;
    }
    case 'compare': {
      const ids = o.run_ids;
      if (!Array.isArray(ids) || ids.length !== 2 || !ids.every((i) => typeof i === 'string')) bad('compare: "run_ids" must be a list of two run ids');
      return { type: 'compare', run_ids: [checkRunIdOrPrefix(ids[0] as string), checkRunIdOrPrefix(ids[1] as string)] };
    }
    case 'pause':
    case 'resume':
    case 'drop_platform':
    case 'undrop_platform':
      return { type: o.type, platform: checkName('platform', str(o, 'platform', 100)) };
    case 'results': {
      const m: ClientMessage = { type: 'results' };
      const name = optStr(o, 'name', 100);
      if (name !== undefined) m.name = checkName('job', name);
      const limit = optInt(o, 'limit', 1, 100_000);
      if (limit !== undefined) m.limit = limit;
      return m;
    }
    default:
      return bad(`unknown client command "${String(o.type)}"`);
  }
}

/** Decodes one line from a worker. */
export function decodeWorkerMessage(line: string): WorkerMessage {
  const o = parseObject(line);
  switch (o.type) {
    case 'job_requested':
      return { type: 'job_requested' };
    case 'give_back':
      return { type: 'give_back', run_id: checkRunId(str(o, 'run_id', 36)) };
    case 'heartbeat':
      return { type: 'heartbeat' };
    case 'output':
    {
      const seq = optInt(o, 'seq');
      return { type: 'output', run_id: checkRunId(str(o, 'run_id', 36)), t: int(o, 't'), line: str(o, 'line'), ...(seq === undefined ? {} : { seq }) };
    }
    case 'resume':
      return { type: 'resume', run_id: checkRunId(str(o, 'run_id', 36)), attempt: str(o, 'attempt', 200) };
    case 'artifact':
      return {
        type: 'artifact',
        run_id: checkRunId(str(o, 'run_id', 36)),
        path: str(o, 'path', 4096),
        size: int(o, 'size'),
        mode: int(o, 'mode', 0, 0o7777),
      };
    case 'job_finished':
      return { type: 'job_finished', run_id: checkRunId(str(o, 'run_id', 36)), outcome: decodeOutcome(obj(o, 'outcome')) };
    default:
      return bad(`unknown worker message "${String(o.type)}"`);
  }
}

/** Decodes one line from the server (worker and client side). */
export function decodeServerMessage(line: string): ServerMessage {
  const o = parseObject(line);
  switch (o.type) {
    case 'welcome':
      return { type: 'welcome', version: int(o, 'version'), server: str(o, 'server'), heartbeat_ms: int(o, 'heartbeat_ms', 1), ...(o.pipeline === true ? { pipeline: true } : {}), ...(o.stored_acks === true ? { stored_acks: true } : {}), ...(o.received_acks === true ? { received_acks: true } : {}) };
    case 'failure':
      return { type: 'failure', message: str(o, 'message'), code: optStr(o, 'code') };
    case 'success': {
      const warnings = Array.isArray(o.warnings) ? o.warnings.filter((w): w is string => typeof w === 'string') : [];
      return warnings.length ? { type: 'success', message: str(o, 'message'), warnings } : { type: 'success', message: str(o, 'message') };
    }
    case 'heartbeat':
      return { type: 'heartbeat' };
    case 'cancel':
      return { type: 'cancel', run_id: checkRunId(str(o, 'run_id', 36)), reason: str(o, 'reason') };
    case 'output':
      return { type: 'output', run_id: str(o, 'run_id'), n: int(o, 'n'), t: int(o, 't'), line: str(o, 'line') };
    case 'output_block':
      return { type: 'output_block', run_id: str(o, 'run_id'), from: int(o, 'from'), lines: int(o, 'lines'), bytes: int(o, 'bytes', 0, MAX_PRINTED_BLOCK) };
    case 'run_end':
      return { type: 'run_end', run_id: str(o, 'run_id'), outcome: o.outcome === null ? null : decodeOutcome(obj(o, 'outcome')) };
    case 'resumed':
      return { type: 'resumed', run_id: checkRunId(str(o, 'run_id', 36)), from: int(o, 'from') };
    case 'run_gone':
      return { type: 'run_gone', run_id: checkRunId(str(o, 'run_id', 36)), reason: str(o, 'reason') };
    case 'job_received':
      return { type: 'job_received', run_id: checkRunId(str(o, 'run_id', 36)) };
    case 'take_back':
      return { type: 'take_back', run_id: checkRunId(str(o, 'run_id', 36)) };
    case 'job_stored': {
      const error = optStr(o, 'error');
      return { type: 'job_stored', run_id: checkRunId(str(o, 'run_id', 36)), ...(error === undefined ? {} : { error }) };
    }
    case 'job': {
      const j = obj(o, 'job');
      const attempt = optStr(o, 'attempt', 200);
      return {
        type: 'job',
        run_id: checkRunId(str(o, 'run_id', 36)),
        ...(attempt === undefined ? {} : { attempt }),
        job: {
          name: checkName('job', str(j, 'name', 100)),
          platform: checkName('platform', str(j, 'platform', 100)),
          script: str(j, 'script'),
          timeout_s: int(j, 'timeout_s', 1),
        },
      };
    }
    case 'observing': {
      const heartbeat = optInt(o, 'heartbeat_ms', 1);
      return { type: 'observing', run_id: str(o, 'run_id'), name: str(o, 'name'), platform: str(o, 'platform'), ...(heartbeat === undefined ? {} : { heartbeat_ms: heartbeat }) };
    }
    case 'results_reply':
      return { type: 'results_reply', results: (Array.isArray(o.results) ? o.results : bad('results_reply: results must be a list')) as never };
    case 'fetch_reply':
      return { type: 'fetch_reply', run_id: str(o, 'run_id'), artifacts: decodeArtifactList(o.artifacts, 'fetch_reply') };
    case 'compare_reply': {
      const runs = o.runs;
      if (!Array.isArray(runs) || runs.length !== 2 || !runs.every((r) => typeof r === 'object' && r !== null)) bad('compare_reply: runs must be a list of two runs');
      // The reply's shape is the server's own; only the artifact lists, which the client compares, are checked.
      const [a, b] = (runs as Obj[]).map((r) => ({ ...r, artifacts: decodeArtifactList(r.artifacts, 'compare_reply') })) as never as [never, never];
      return { type: 'compare_reply', runs: [a, b] };
    }
    case 'artifact':
      return { type: 'artifact', run_id: str(o, 'run_id'), path: str(o, 'path', 4096), size: int(o, 'size'), mode: int(o, 'mode', 0, 0o7777) };
    case 'info_reply':
      // The reply's shape is the server's own; clients only render it.
      return { type: 'info_reply', info: obj(o, 'info') as never };
    default:
      return bad(`unknown server message "${String(o.type)}"`);
  }
}
