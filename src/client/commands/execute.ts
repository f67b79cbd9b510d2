import { usageError } from '../../shared/cli.js';
import type { Command } from '../command.js';
import { printReply } from '../output.js';
import { request } from '../request.js';
import { nameArg, verifyArg } from './schedule.js';

export const execute: Command = {
  name: 'execute',
  summary: 'run a job now: move it to the front of its queue',
  usage: `execute NAME [--platform PLATFORM] [--verify N]
  --verify N: build this run N times on different workers and compare the artifacts
  (a job scheduled with --verify is verified without it).`,
  flags: ['platform', 'verify'],
  async run({ remote, json, args }) {
    if (args._.length > 1) usageError(`unexpected argument "${args._[1]}"`);
    const name = nameArg('job', args._[0]);
    const platform = args.platform === undefined ? undefined : nameArg('platform', String(args.platform));
    const verify = verifyArg(args.verify);
    const r = await request(remote, { type: 'execute', name, ...(platform ? { platform } : {}), ...(verify !== undefined ? { verify } : {}) });
    printReply(json, r, `${name} queued`);
  },
};
