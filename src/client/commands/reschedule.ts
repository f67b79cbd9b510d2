import { isRfc3339 } from '../../protocol/decode.js';
import { PERIODS, type Period } from '../../protocol/types.js';
import { usageError } from '../../shared/cli.js';
import type { Command } from '../command.js';
import { printSuccess } from '../output.js';
import { request } from '../request.js';
import { nameArg } from './schedule.js';

export const reschedule: Command = {
  name: 'reschedule',
  summary: 'set when a job next runs (and optionally its period)',
  usage: 'reschedule NAME NEXT [--period hourly|daily|weekly|never]\n  NEXT is an RFC 3339 time, e.g. 2026-12-01T03:00:00Z.',
  flags: ['period'],
  async run({ remote, json, args }) {
    const [n, next, extra] = args._;
    if (extra !== undefined) usageError(`unexpected argument "${extra}"`);
    const name = nameArg('job', n);
    if (next === undefined) usageError('missing NEXT (an RFC 3339 time, e.g. 2026-12-01T03:00:00Z)');
    if (!isRfc3339(next)) usageError(`bad time "${next}": expected RFC 3339, e.g. 2026-12-01T03:00:00Z`);
    const period = args.period === undefined ? undefined : String(args.period);
    if (period !== undefined && !(PERIODS as readonly string[]).includes(period)) usageError(`bad --period "${period}": use ${PERIODS.join(', ')}`);
    const r = await request(remote, { type: 'reschedule', name, next, ...(period ? { period: period as Period } : {}) });
    printSuccess(json, r.type === 'success' ? r.message : `rescheduled ${name}`);
  },
};
