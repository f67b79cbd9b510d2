import { isRfc3339 } from '../../protocol/decode.js';
import { PERIODS, type Period } from '../../protocol/types.js';
import { checkCron } from '../../schedule/next-run.js';
import { usageError } from '../../shared/cli.js';
import { reason } from '../../shared/errors.js';
import type { Command } from '../command.js';
import { printReply } from '../output.js';
import { request } from '../request.js';
import { nameArg } from './schedule.js';

export const reschedule: Command = {
  name: 'reschedule',
  summary: 'set when a job next runs (and optionally its period or cron expression)',
  usage: `reschedule NAME NEXT [--period hourly|daily|weekly|never]
       reschedule NAME [NEXT] --cron EXPR [--tz ZONE]
  NEXT is an RFC 3339 time, e.g. 2026-12-01T03:00:00Z; with --cron it may be
  left out (the next match of EXPR). --period and --cron replace each other.`,
  flags: ['period', 'cron', 'tz'],
  async run({ remote, json, args }) {
    const [n, next, extra] = args._;
    if (extra !== undefined) usageError(`unexpected argument "${extra}"`);
    const name = nameArg('job', n);
    const cron = args.cron === undefined ? undefined : String(args.cron);
    if (next === undefined && cron === undefined) usageError('missing NEXT (an RFC 3339 time, e.g. 2026-12-01T03:00:00Z), or give --cron EXPR');
    if (next !== undefined && !isRfc3339(next)) usageError(`bad time "${next}": expected RFC 3339, e.g. 2026-12-01T03:00:00Z`);
    const period = args.period === undefined ? undefined : String(args.period);
    if (period !== undefined && !(PERIODS as readonly string[]).includes(period)) usageError(`bad --period "${period}": use ${PERIODS.join(', ')}`);
    if (period !== undefined && cron !== undefined) usageError('--period and --cron exclude each other');
    if (args.tz !== undefined && cron === undefined) usageError('--tz only applies with --cron');
    const tz = String(args.tz ?? 'UTC');
    if (cron !== undefined) {
      try {
        checkCron(cron, tz);
      } catch (e) {
        usageError(reason(e));
      }
    }
    const r = await request(remote, { type: 'reschedule', name, ...(next ? { next } : {}), ...(period ? { period: period as Period } : {}), ...(cron ? { cron, tz } : {}) });
    printReply(json, r, `rescheduled ${name}`);
  },
};
