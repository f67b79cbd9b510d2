import { usageError } from '../../shared/cli.js';
import type { Command } from '../command.js';
import { printReply } from '../output.js';
import { request } from '../request.js';
import { nameArg } from './schedule.js';

export const execute: Command = {
  name: 'execute',
  summary: 'run a job now: move it to the front of its queue',
  usage: 'execute NAME [--platform PLATFORM]',
  flags: ['platform'],
  async run({ remote, json, args }) {
    if (args._.length > 1) usageError(`unexpected argument "${args._[1]}"`);
    const name = nameArg('job', args._[0]);
    const platform = args.platform === undefined ? undefined : nameArg('platform', String(args.platform));
    const r = await request(remote, { type: 'execute', name, ...(platform ? { platform } : {}) });
    printReply(json, r, `${name} queued`);
  },
};
