import { intFlag, usageError } from '../../shared/cli.js';
import type { Command } from '../command.js';
import { open } from '../request.js';
import { followRun, OBSERVE_EXIT, observeExit } from './observe.js';
import { nameArg } from './schedule.js';

export const observeLatest: Command = {
  name: 'observe-latest',
  summary: 'observe the newest run (running, else finished) of a job and/or platform',
  usage: `observe-latest [--platform P] [--job NAME] [--from N] [--exit-status]
  Flags as for observe.
${OBSERVE_EXIT}`,
  flags: ['platform', 'job', 'from', 'exit-status'],
  booleans: ['exit-status'],
  async run({ remote, json, args }) {
    if (args._.length > 0) usageError(`unexpected argument "${args._[0]}"`);
    const platform = args.platform === undefined ? undefined : nameArg('platform', String(args.platform));
    const job = args.job === undefined ? undefined : nameArg('job', String(args.job));
    const from = args.from === undefined ? undefined : intFlag('--from', args.from, 0, Number.MAX_SAFE_INTEGER);
    const conn = await open(remote, { type: 'observe_latest', ...(platform ? { platform } : {}), ...(job ? { job } : {}), ...(from !== undefined ? { from } : {}) });
    return observeExit(await followRun(conn, json), args['exit-status'] === true);
  },
};
