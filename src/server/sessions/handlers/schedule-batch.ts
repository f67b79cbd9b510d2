import type { Connection } from '../../../protocol/connection.js';
import { decodeClientMessage } from '../../../protocol/decode.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { BuilderError, reason } from '../../../shared/errors.js';
import { log } from '../../../shared/log.js';
import type { ScheduleEntry } from '../../../spool/records.js';
import { ScheduleStage } from '../../../spool/schedule-stage.js';
import { tick } from '../../core/scheduler.js';
import { isReserved, releaseNames, reserveNames } from '../../core/schedule-reservations.js';
import type { ServerState } from '../../core/state.js';
import { readLineWithin } from '../read-within.js';
import { platformWarnings } from './platform-warning.js';
import { addEntries, describeCounts, entryOf } from './schedule.js';

/** Staged writes in flight at once (fsyncs side by side go much faster than one after another). */
const WRITES_AHEAD = 16;

/**
 * `schedule_batch` (`schedule --from`): `count` schedule lines, added all or
 * none, without holding up anyone else:
 *   1. each line is checked and written into a stage in tmp/ as it comes
 *      (no lock held; a client silent for --client-idle-timeout is closed);
 *   2. under the lock, briefly: no name may be scheduled already; the names
 *      are reserved;
 *   3. the staged files are renamed into schedule/ (no lock held);
 *   4. under the lock, briefly: the entries join the in-memory schedule.
 * Any failure before 4 removes the stage and what was renamed: nothing is scheduled.
 */
export async function handleScheduleBatch(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'schedule_batch' }>): Promise<void> {
  if (m.replace === true) return replaceBatch(state, conn, m.count);
  const stage = await ScheduleStage.open(state.spool);
  const entries: ScheduleEntry[] = [];
  let reserved = false;
  try {
    await stageLines(state, conn, m.count, stage, entries);
    await state.exclusive(async () => {
      for (const e of entries)
        if (state.schedule.has(e.name) || isReserved(state, e.name))
          throw new BuilderError('duplicate', `job ${e.name} is already scheduled (unschedule ${e.name} first, reschedule it, or schedule --replace); nothing was scheduled`);
      reserveNames(state, entries.map((e) => e.name));
      reserved = true;
    });
    try {
      await stage.commit();
    } catch (e) {
      throw new BuilderError('spool_write', `cannot write the schedule in ${state.spool.path('schedule')}: ${reason(e)}; nothing was scheduled`);
    }
    await state.exclusive(async () => {
      for (const e of entries) state.schedule.set(e.name, e);
    });
  } finally {
    if (reserved) releaseNames(state, entries.map((e) => e.name));
    await stage.discard().catch(() => undefined);
  }
  log('info', `scheduled ${entries.length} job${entries.length === 1 ? '' : 's'} from a batch (schedule --from)`);
  await tick(
    state,
    new Date(),
    entries.map((e) => e.name),
  );
  const warnings = await platformWarnings(state, entries.map((e) => e.platform));
  await conn.send({ type: 'success', message: describeCounts({ added: entries.length, updated: 0, unchanged: 0 }), ...(warnings.length ? { warnings } : {}) });
}

/** Reads, checks and stages the batch's lines, WRITES_AHEAD writes at a time. */
async function stageLines(state: ServerState, conn: Connection, count: number, stage: ScheduleStage, entries: ScheduleEntry[]): Promise<void> {
  const names = new Set<string>();
  const writing = new Set<Promise<void>>();
  let failed: unknown = null;
  for (let i = 1; i <= count; i++) {
    try {
      const line = decodeClientMessage(await readLineWithin(conn, state.config.limits.clientIdleMs, `schedule --from, job ${i} of ${count}`));
      if (line.type !== 'schedule') throw new BuilderError('bad_message', `expected a schedule line, got "${line.type}"`);
      const e = entryOf(state, line.job);
      if (names.has(e.name)) throw new BuilderError('duplicate', `job ${e.name} appears twice in the batch`);
      names.add(e.name);
      entries.push(e);
      const w: Promise<void> = stage.put(e).then(
        () => void writing.delete(w),
        (err) => void ((failed ??= err), writing.delete(w)),
      );
      writing.add(w);
      if (writing.size >= WRITES_AHEAD) await Promise.race(writing);
      if (failed) throw new BuilderError('spool_write', `cannot stage the batch in ${stage.dir}: ${reason(failed)}`);
    } catch (e) {
      await Promise.all(writing);
      throw new BuilderError((e as BuilderError).code ?? 'bad_message', `job ${i} of ${count}: ${reason(e)}; nothing was scheduled`);
    }
  }
  await Promise.all(writing);
  if (failed) throw new BuilderError('spool_write', `cannot stage the batch in ${stage.dir}: ${reason(failed)}; nothing was scheduled`);
}

/**
 * `schedule --from --replace`: re-applies a set (kept in git) idempotently.
 * why not staged: each line is compared with what is scheduled, under the
 * lock, so the whole set is read first and applied in one critical section.
 */
async function replaceBatch(state: ServerState, conn: Connection, count: number): Promise<void> {
  const entries: ScheduleEntry[] = [];
  for (let i = 1; i <= count; i++) {
    try {
      const line = decodeClientMessage(await readLineWithin(conn, state.config.limits.clientIdleMs, `schedule --from, job ${i} of ${count}`));
      if (line.type !== 'schedule') throw new BuilderError('bad_message', `expected a schedule line, got "${line.type}"`);
      entries.push(entryOf(state, line.job));
    } catch (e) {
      throw new BuilderError((e as BuilderError).code ?? 'bad_message', `job ${i} of ${count}: ${reason(e)}; nothing was scheduled`);
    }
  }
  const counts = await addEntries(state, entries, { replace: true });
  const warnings = await platformWarnings(state, entries.map((e) => e.platform));
  await conn.send({ type: 'success', message: describeCounts(counts), ...(warnings.length ? { warnings } : {}) });
}
