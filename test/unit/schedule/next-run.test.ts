import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkCron, firstRun, isDue, nextRun } from '../../../src/schedule/next-run.js';

const t = (s: string) => new Date(s);

test('a job with a period is due at once when scheduled; never is never due', () => {
  const now = t('2026-01-01T10:00:00Z');
  assert.deepEqual(firstRun({ period: 'daily' }, now), now);
  assert.equal(firstRun({ period: 'never' }, now), null);
  assert.equal(isDue(null, now), false);
});

test('the next run is one period after the due time', () => {
  assert.equal(nextRun({ period: 'hourly' }, t('2026-01-01T10:00:00Z'), t('2026-01-01T10:00:01Z'))!.toISOString(), '2026-01-01T11:00:00.000Z');
  assert.equal(nextRun({ period: 'weekly' }, t('2026-01-01T10:00:00Z'), t('2026-01-01T10:00:01Z'))!.toISOString(), '2026-01-08T10:00:00.000Z');
});

test('after downtime a job that missed several periods runs once, then keeps its phase', () => {
  // Due at 10:00, server back at 15:30: it runs now (once), next at 16:00, not 11:00, 12:00, ...
  const next = nextRun({ period: 'hourly' }, t('2026-01-01T10:00:00Z'), t('2026-01-01T15:30:00Z'))!;
  assert.equal(next.toISOString(), '2026-01-01T16:00:00.000Z');
});

test('cron expressions decide the next run in UTC unless a zone is given', () => {
  const now = t('2026-01-01T10:07:00Z');
  assert.equal(firstRun({ period: 'never', cron: '*/15 * * * *' }, now)!.toISOString(), '2026-01-01T10:15:00.000Z');
  assert.equal(nextRun({ period: 'never', cron: '0 3 * * *', tz: 'Europe/Berlin' }, now, now)!.toISOString(), '2026-01-02T02:00:00.000Z');
  assert.throws(() => checkCron('61 * * * *'), /bad cron expression "61 \* \* \* \*"/);
  assert.throws(() => checkCron('* * * * *', 'Mars/Olympus'), /bad time zone "Mars\/Olympus"/);
});
