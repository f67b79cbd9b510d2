import { usageError } from '../../shared/cli.js';
import type { Command } from '../command.js';
import { printReply } from '../output.js';
import { request } from '../request.js';
import { nameArg } from './schedule.js';

export const unschedule: Command = {
  name: 'unschedule',
  summary: 'remove a job from the schedule and its queues',
  usage: 'unschedule NAME',
  flags: [],
  async run({ remote, json, args }) {
    if (args._.length > 1) usageError(`unexpected argument "${args._[1]}"`);
    const name = nameArg('job', args._[0]);
    const r = await request(remote, { type: 'unschedule', name });
    printReply(json, r, `unscheduled ${name}`);
  },
};
