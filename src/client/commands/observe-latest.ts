import { intFlag, usageError } from '../../shared/cli.js';
import type { Command } from '../command.js';
import { observeRun } from '../follow-run.js';
import { OBSERVE_EXIT, observeExit, RECONNECT_HELP, reconnectMs } from './observe.js';
import { nameArg } from './schedule.js';

export const observeLatest: Command = {
  name: 'observe-latest',
  summary: 'observe the newest run (running, else finished) of a job and/or platform',
  usage: `observe-latest [--platform P] [--job NAME] [--from N] [--exit-status] [--reconnect-for S]
  Flags as for observe; a reconnect follows the run found first.
${RECONNECT_HELP}
${OBSERVE_EXIT}`,
  flags: ['platform', 'job', 'from', 'exit-status', 'reconnect-for'],
  booleans: ['exit-status'],
  async run({ remote, json, args }) {
    if (args._.length > 0) usageError(`unexpected argument "${args._[0]}"`);
    const platform = args.platform === undefined ? undefined : nameArg('platform', String(args.platform));
    const job = args.job === undefined ? undefined : nameArg('job', String(args.job));
    const from = args.from === undefined ? undefined : intFlag('--from', args.from, 0, Number.MAX_SAFE_INTEGER);
    const first = { type: 'observe_latest' as const, ...(platform ? { platform } : {}), ...(job ? { job } : {}), ...(from !== undefined ? { from } : {}) };
    return observeExit(await observeRun(remote, first, json, reconnectMs(args['reconnect-for'])), args['exit-status'] === true);
  },
};
