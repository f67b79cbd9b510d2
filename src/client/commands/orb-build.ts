import { DEFAULT_PERIOD, PERIODS, type Period } from '../../protocol/types.js';
import { checkCron } from '../../schedule/next-run.js';
import { intFlag, usageError } from '../../shared/cli.js';
import { reason } from '../../shared/errors.js';
import type { Command } from '../command.js';
import { printReply } from '../output.js';
import { request } from '../request.js';
import { nameArg, verifyArg } from './schedule.js';

export const orbBuild: Command = {
  name: 'orb-build',
  summary: 'schedule a template job that builds an opam package on every platform with a template',
  usage: `orb-build NAME OPAM_PACKAGE [--period P | --cron EXPR [--tz ZONE]] [--platform P] [--timeout S] [--verify N]
  --period P  hourly, daily, weekly or never (default ${DEFAULT_PERIOD}, as in the original)
  The script is built per platform from <config-dir>/orb-build.template.<platform>,
  with %%OPAM_PACKAGE%% and %%PLATFORM%% replaced. Without --platform it runs on
  every platform that has the template, including ones added later.
  --verify N: build each due run N times on different workers and compare the artifacts.`,
  flags: ['period', 'cron', 'tz', 'platform', 'timeout', 'verify'],
  async run({ remote, json, args }) {
    const [n, pkg, extra] = args._;
    if (extra !== undefined) usageError(`unexpected argument "${extra}"`);
    const name = nameArg('job', n);
    const opam = nameArg('opam package', pkg);
    const period = String(args.period ?? (args.cron === undefined ? DEFAULT_PERIOD : 'never'));
    if (!(PERIODS as readonly string[]).includes(period)) usageError(`bad --period "${period}": use ${PERIODS.join(', ')}`);
    if (args.cron !== undefined) {
      if (args.period !== undefined) usageError('--period and --cron exclude each other');
      try {
        checkCron(String(args.cron), String(args.tz ?? 'UTC'));
      } catch (e) {
        usageError(reason(e));
      }
    }
    const verify = verifyArg(args.verify);
    const r = await request(remote, {
      type: 'orb_build',
      name,
      opam_package: opam,
      period: period as Period,
      ...(args.cron !== undefined ? { cron: String(args.cron), tz: String(args.tz ?? 'UTC') } : {}),
      ...(args.platform !== undefined ? { platform: nameArg('platform', String(args.platform)) } : {}),
      ...(args.timeout !== undefined ? { timeout_s: intFlag('--timeout', args.timeout, 1, 7 * 24 * 3600) } : {}),
      ...(verify !== undefined ? { verify } : {}),
    });
    printReply(json, r, `scheduled ${name}`);
  },
};
