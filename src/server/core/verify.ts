import { createHash, randomUUID } from 'node:crypto';
import type { GroupSummary } from '../../protocol/messages.js';
import type { Job } from '../../protocol/types.js';
import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { listGroups, putGroup, readGroup, type GroupMember, type GroupRecord } from '../../spool/groups.js';
import type { GroupTag, ResultRecord } from '../../spool/records.js';
import { settleMember } from '../../verify/group-outcome.js';
import { enqueueJob, unqueueBuilds as takeBuilds } from './queue.js';
import { jobsOf } from './jobs.js';
import type { ServerState } from './state.js';
import { noteBuilder, verifyOf } from './verify-state.js';

/*
 * Verify groups (`--verify N`): a due run of such a job is queued as N
 * builds that share a group record, groups/<id>.json. The lifecycle:
 *   1. enqueueGroup writes the record (phase building, every member
 *      waiting), then queues the N builds (queue files `<job>@<id>.<i>`);
 *   2. pickPair gives a build only to a worker that may build it (another
 *      process, another host when the platform has one) and notes who;
 *   3. each build is a normal run; when its final run is stored (not an
 *      attempt that is requeued: the run_stored event's `final`),
 *      groupMemberStored records it in the group;
 *   4. with the last member the group is decided (reproducible, differs,
 *      incomplete); the status page and /metrics read the groups in memory.
 * A crash anywhere is recovered by loadGroups at start: members whose
 * result was stored are recorded, members that are nowhere are queued again.
 */

/** The newest group of each job (by creation), building or decided. */
export function latestGroups(state: ServerState, phase?: GroupRecord['phase']): Map<string, GroupRecord> {
  const out = new Map<string, GroupRecord>();
  for (const g of verifyOf(state).groups.values()) {
    if (phase && g.phase !== phase) continue;
    const had = out.get(g.job);
    if (!had || had.created < g.created) out.set(g.job, g);
  }
  return out;
}

/** A group as the client sees it, for a run tagged with it. */
export function groupSummary(state: ServerState, tag: GroupTag): GroupSummary {
  const g = verifyOf(state).groups.get(tag.id);
  const outcome = !g ? 'pending' : g.phase === 'building' ? 'pending' : g.outcome.kind;
  return {
    id: tag.id,
    index: tag.index,
    of: tag.of,
    outcome,
    ...(g?.phase === 'decided' && g.outcome.kind === 'differs' ? { differs: g.outcome.paths.map((p) => p.path) } : {}),
  };
}

/** A group record as stored (read from the spool), or null. */
export function readGroupRecord(state: ServerState, id: string): Promise<GroupRecord | null> {
  return readGroup(state.spool, id);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Queues one due run of `job` as a group of `n` builds (unless the job
 * already waits on its queue: never queued twice). The group record is
 * written first, so a crash before the builds are queued is repaired at start.
 */
export async function enqueueGroup(state: ServerState, job: Job, n: number, opts: { front: boolean }): Promise<boolean> {
  if (state.queues.has(job.platform, job.name) || state.queues.isClaiming(job.platform, job.name)) return false;
  const id = randomUUID();
  const members: GroupMember[] = Array.from({ length: n }, (_, i) => ({ index: i + 1, run_id: null, worker: null, outcome: null, finished: null, artifacts: [] }));
  const g: GroupRecord = {
    version: 1,
    group_id: id,
    job: job.name,
    platform: job.platform,
    builds: n,
    created: new Date().toISOString(),
    script_sha256: sha256(job.script),
    members,
    phase: 'building',
    outcome: null,
    decided: null,
    distinct: null,
  };
  await putGroup(state.spool, g);
  verifyOf(state).groups.set(id, g);
  // At the front each build goes before the current head: queue the last first so build 1 leads.
  const order = members.map((m) => m.index);
  for (const index of opts.front ? order.reverse() : order) await enqueueJob(state, job, { front: opts.front, group: { id, index, of: n } });
  log('info', `${job.name} on ${job.platform}: verify group ${id} queued (${n} builds on different workers)`);
  return true;
}

/** Runs `fn` on a group's record, one update at a time; writes and remembers what it returns (nothing when it returns null). */
function updateGroup(state: ServerState, id: string, fn: (g: GroupRecord) => GroupRecord | null): Promise<void> {
  const v = verifyOf(state);
  const next = (v.chains.get(id) ?? Promise.resolve()).then(async () => {
    const g = (await readGroup(state.spool, id)) ?? null;
    if (!g) return log('warn', `verify group ${id}: no record in ${state.spool.path('groups')}; its build is kept as a plain run`);
    const updated = fn(g);
    if (!updated) return;
    try {
      await putGroup(state.spool, updated);
    } catch (e) {
      // Not remembered: the next start records the member again from its stored result.
      return log('error', `cannot write ${state.spool.path('groups', `${id}.json`)}: ${reason(e)}; the group is updated at the next start`);
    }
    if (updated.phase === 'decided') {
      v.groups.set(id, { ...updated, members: updated.members.map((m) => ({ ...m, artifacts: [] })) });
      const o = updated.outcome;
      const said = o.kind === 'differs' ? `differs in ${o.paths.map((p) => p.path).join(', ')}` : o.kind === 'incomplete' ? `incomplete: ${o.message}` : 'reproducible';
      log(o.kind === 'reproducible' ? 'info' : 'warn', `${updated.job} on ${updated.platform}: verify group ${id} ${said}`);
    } else v.groups.set(id, updated);
  });
  const settled: Promise<void> = next
    .catch((e) => log('error', `verify group ${id}: ${reason(e)}`))
    .finally(() => {
      if (v.chains.get(id) === settled) v.chains.delete(id);
    });
  v.chains.set(id, settled);
  return settled;
}

/** Subscribes to stored runs: each final build of a verify group is recorded in its group (not awaited: the run's end does not wait for the group record). */
export function recordBuilds(state: ServerState): void {
  state.events.on('run_stored', ({ result, final }) => {
    if (final && result.group) void groupMemberStored(state, result);
  });
}

/** Records a stored final run of a verify build in its group (and decides the group with its last build). */
export function groupMemberStored(state: ServerState, result: ResultRecord): Promise<void> {
  const tag = result.group;
  if (!tag) return Promise.resolve();
  const w = result.worker;
  if (w) noteBuilder(verifyOf(state), tag, { host: w.facts.hostname, process: w.facts.instance ?? `connection ${w.id}` });
  const member: GroupMember = {
    index: tag.index,
    run_id: result.run_id,
    worker: w ? { id: w.id, hostname: w.facts.hostname, instance: w.facts.instance ?? null } : null,
    outcome: result.outcome,
    finished: result.finished,
    artifacts: result.artifacts,
  };
  return updateGroup(state, tag.id, (g) => settleMember(g, member, new Date()));
}

/** Records that a build will never run (removed from its queue, job unscheduled): the group ends incomplete. */
export function groupMemberRemoved(state: ServerState, tag: { id: string; index: number }, why: string): Promise<void> {
  const member: GroupMember = { index: tag.index, run_id: null, worker: null, outcome: { kind: 'failed', message: why }, finished: new Date().toISOString(), artifacts: [] };
  return updateGroup(state, tag.id, (g) => settleMember(g, member, new Date()));
}

/**
 * Loads groups/ at start (after the queues and running/ were recovered) and
 * repairs what a crash left: a member whose final run was stored is
 * recorded; a member neither stored nor queued is queued again (or, when
 * its job is gone, its platform dropped or its script changed, recorded as
 * never built).
 */
export async function loadGroups(state: ServerState): Promise<void> {
  const v = verifyOf(state);
  const groups = await listGroups(state.spool);
  for (const g of groups) {
    v.groups.set(g.group_id, g.phase === 'decided' ? { ...g, members: g.members.map((m) => ({ ...m, artifacts: [] })) } : g);
    for (const m of g.members) if (m.worker) noteBuilder(v, { id: g.group_id, index: m.index }, { host: m.worker.hostname, process: m.worker.instance ?? `connection ${m.worker.id}` });
  }
  const resultsOf = new Map<string, ResultRecord[]>();
  for (const g of groups) {
    if (g.phase !== 'building') continue;
    for (const m of g.members.filter((x) => x.outcome === null)) {
      try {
        await repairMember(state, g, m.index, resultsOf);
      } catch (e) {
        log('error', `verify group ${g.group_id}: cannot recover build ${m.index}: ${reason(e)}; it is tried again at the next start`);
      }
    }
  }
}

async function repairMember(state: ServerState, g: GroupRecord, index: number, resultsOf: Map<string, ResultRecord[]>): Promise<void> {
  const tag = { id: g.group_id, index, of: g.builds };
  let results = resultsOf.get(g.job);
  if (!results) resultsOf.set(g.job, (results = await state.spool.listResultsOf(g.job)));
  const stored = results.find((r) => r.group?.id === tag.id && r.group.index === index);
  if (stored) return groupMemberStored(state, stored);
  if (state.queues.hasMember(g.platform, tag.id, index)) return;
  const entry = state.schedule.get(g.job);
  if (!entry || state.dropped.has(g.platform)) return groupMemberRemoved(state, tag, `never built: ${!entry ? 'the job was unscheduled' : `platform ${g.platform} was dropped`}`);
  const job = (await jobsOf(state, entry, g.platform))[0];
  if (!job || sha256(job.script) !== g.script_sha256) return groupMemberRemoved(state, tag, 'never built: the job\'s script changed before this build was queued');
  await enqueueJob(state, job, { front: true, group: tag });
  log('warn', `${g.job} on ${g.platform}: verify group ${tag.id} build ${index} was lost in a restart: queued again`);
}

/**
 * Takes the queued builds of `name` off a platform's queue (unschedule, or
 * execute queueing a fresh run): their groups end incomplete, saying `why`.
 * Returns how many were removed.
 */
export async function unqueueBuilds(state: ServerState, platform: string, name: string, why: string): Promise<number> {
  const removed = await takeBuilds(state, platform, name);
  for (const q of removed) await groupMemberRemoved(state, q.group!, `never built: ${why}`);
  return removed.length;
}

/** Groups decided at or after `since` (ms since the epoch), by outcome kind: the metrics counter (groups are never forgotten, so it only grows). */
export function decidedSince(state: ServerState, since: number): Map<'reproducible' | 'differs' | 'incomplete', number> {
  const out = new Map<'reproducible' | 'differs' | 'incomplete', number>([
    ['reproducible', 0],
    ['differs', 0],
    ['incomplete', 0],
  ]);
  for (const g of verifyOf(state).groups.values()) if (g.phase === 'decided' && Date.parse(g.decided) >= since) out.set(g.outcome.kind, out.get(g.outcome.kind)! + 1);
  return out;
}

/** How many jobs' latest decided group differs. */
export function jobsDiffering(state: ServerState): number {
  let n = 0;
  for (const g of latestGroups(state, 'decided').values()) if (g.outcome?.kind === 'differs') n++;
  return n;
}
