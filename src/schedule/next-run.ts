import { Cron } from 'croner';
import type { Period } from '../protocol/types.js';
import { BuilderError } from '../shared/errors.js';

// Pure scheduling arithmetic: every function takes `now`; only the server owns the clock.

const HOUR = 3600_000;
const PERIOD_MS: Record<Exclude<Period, 'never'>, number> = { hourly: HOUR, daily: 24 * HOUR, weekly: 7 * 24 * HOUR };

/** When a job runs: a fixed period or a cron expression in a time zone. */
export interface When {
  period: Period;
  cron?: string;
  tz?: string;
}

/** Checks a cron expression and time zone; throws a one-line BuilderError naming what is wrong. */
export function checkCron(expr: string, tz = 'UTC'): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    throw new BuilderError('bad_tz', `bad time zone "${tz}": use an IANA name such as UTC or Europe/Berlin`);
  }
  try {
    new Cron(expr, { timezone: tz, paused: true });
  } catch (e) {
    throw new BuilderError('bad_cron', `bad cron expression "${expr}": ${(e as Error).message}`);
  }
}

function cronNext(expr: string, tz: string | undefined, after: Date): Date | null {
  return new Cron(expr, { timezone: tz ?? 'UTC', paused: true }).nextRun(after);
}

/** The first due time of a newly scheduled job: now for a period, the next match for cron, null for never. */
export function firstRun(when: When, now: Date): Date | null {
  if (when.cron) return cronNext(when.cron, when.tz, now);
  return when.period === 'never' ? null : now;
}

/**
 * The next due time after a run was due at `due`: one period later, skipping
 * every period missed while the server was down, so that a job that missed
 * several periods runs once, not once per missed period.
 */
export function nextRun(when: When, due: Date, now: Date): Date | null {
  if (when.cron) return cronNext(when.cron, when.tz, now);
  if (when.period === 'never') return null;
  const step = PERIOD_MS[when.period];
  const missed = Math.floor((now.getTime() - due.getTime()) / step);
  return new Date(due.getTime() + (Math.max(0, missed) + 1) * step);
}

/** Whether a job with due time `next` is due at `now`. */
export function isDue(next: string | null, now: Date): boolean {
  return next !== null && Date.parse(next) <= now.getTime();
}
