import { usageError } from '../../shared/cli.js';
import type { Command } from '../command.js';
import { printReply } from '../output.js';
import { request } from '../request.js';
import { runIdArg } from '../run-id.js';

export const cancel: Command = {
  name: 'cancel',
  summary: "stop a running job (kill its process group on the worker)",
  usage: 'cancel RUN_ID\n  The run is recorded as failed: "cancelled by an operator", and not requeued.',
  flags: [],
  async run({ remote, json, args }) {
    if (args._.length > 1) usageError(`unexpected argument "${args._[1]}"`);
    const runId = runIdArg(args._[0]);
    const r = await request(remote, { type: 'cancel', run_id: runId });
    printReply(json, r, `cancelling ${runId}`);
  },
};
