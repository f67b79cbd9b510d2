import { usageError } from '../shared/cli.js';
import type { Command } from './command.js';
import { nameArg } from './commands/schedule.js';
import { printReply } from './output.js';
import { request } from './request.js';

type PlatformMessage = 'pause' | 'resume' | 'drop_platform' | 'undrop_platform';

/** A command that takes one PLATFORM and sends one message about it (pause, resume, drop-platform, undrop-platform). */
export function platformCommand(type: PlatformMessage, summary: string, details: string): Command {
  const name = type.replace('_', '-');
  return {
    name,
    summary,
    usage: `${name} PLATFORM\n  ${details}`,
    flags: [],
    async run({ remote, json, args }) {
      if (args._.length > 1) usageError(`unexpected argument "${args._[1]}"`);
      const platform = nameArg('platform', args._[0]);
      const r = await request(remote, { type, platform });
      printReply(json, r, `${name} ${platform}: done`);
    },
  };
}
