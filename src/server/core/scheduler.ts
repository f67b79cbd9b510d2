import { isDue, nextRun } from '../../schedule/next-run.js';
import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import type { ScheduleEntry } from '../../spool/records.js';
import { dispatch } from './dispatch.js';
import { enqueueJob } from './queue.js';
import { jobsOf } from './jobs.js';
import type { ServerState } from './state.js';
import { enqueueGroup } from './verify.js';

/**
 * Queues every due job once and moves its next due time on. A job already
 * queued, or still running (unless it allows overlap), is not queued again;
 * its next time still moves on, so missed periods collapse into one run.
 * A template job is queued on every platform that has its template.
 */
export async function tick(state: ServerState, now = new Date(), only?: string[]): Promise<void> {
  // `only`: just these entries (a client's schedule need not walk the whole schedule; the timer's tick does).
  const entries = only ? only.map((n) => state.schedule.get(n)).filter((e) => e !== undefined) : [...state.schedule.values()];
  for (const e of entries) {
    if (!isDue(e.next, now) || state.dropped.has(e.platform)) continue;
    try {
      for (const job of await jobsOf(state, e)) {
        if (state.queues.has(job.platform, job.name)) log('info', `${e.name} is due but still queued on ${job.platform}: not queued twice`);
        else if (!e.allow_overlap && state.isRunning(job)) log('info', `${e.name} is due but its previous run on ${job.platform} is still running: skipped`);
        else if (e.verify) await enqueueGroup(state, job, e.verify, { front: false });
        else await enqueueJob(state, job, { front: false });
        void dispatch(state, job.platform);
      }
      const next = nextRun(e, new Date(e.next!), now);
      const updated: ScheduleEntry = { ...e, next: next ? next.toISOString() : null };
      await state.exclusive(async () => {
        // An entry replaced meanwhile (hand edit, reschedule) keeps its own next time.
        if (state.schedule.get(e.name) !== e) return;
        await state.spool.putSchedule(updated);
        state.schedule.set(e.name, updated);
      });
    } catch (e2) {
      log('error', `cannot queue due job ${e.name}: ${reason(e2)}; trying again at the next tick`);
    }
  }
}

/** Runs `tick` every second until the returned stop function is called. */
export function startScheduler(state: ServerState): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    tick(state).finally(() => (busy = false));
  }, 1000);
  return () => clearInterval(timer);
}
