import os from 'node:os';
import { intFlag, usageError } from '../../shared/cli.js';
import { checkRunId } from '../../protocol/decode.js';
import { describeOutcome } from '../../protocol/types.js';
import { reason } from '../../shared/errors.js';
import type { Connection } from '../../protocol/connection.js';
import type { Command } from '../command.js';
import { paint } from '../output.js';
import { open, reply } from '../request.js';

export const observe: Command = {
  name: 'observe',
  summary: "print a run's console: what came before, then live until it ends",
  usage: `observe RUN_ID [--from N]
  --from N  start at line N (0-based), e.g. to resume after a dropped connection.
  --json prints one JSON object per line: {"n","t","line"}, then {"outcome"}.`,
  flags: ['from'],
  async run({ remote, json, args }) {
    if (args._.length !== 1) usageError('observe takes one RUN_ID (see: builder-client info)');
    let runId: string;
    try {
      runId = checkRunId(String(args._[0]));
    } catch (e) {
      return usageError(reason(e));
    }
    const from = args.from === undefined ? 0 : intFlag('--from', args.from, 0, Number.MAX_SAFE_INTEGER);
    await followRun(await open(remote, { type: 'observe', run_id: runId, from }), json);
  },
};

/** Prints an observed run's lines as they arrive until it ends; the outcome goes to stderr (or as the last JSON line). */
export async function followRun(conn: Connection, json: boolean): Promise<void> {
  // An observer is a viewer: on a shared host it yields the CPU to the builds and the server it watches.
  try {
    os.setPriority(os.constants.priority.PRIORITY_LOW);
  } catch {
    // Not allowed here: run at the normal priority.
  }
  // Lines are written in bursts: whatever arrived together goes out in one write (a
  // write per line would cost more than receiving it).
  let pending: string[] = [];
  const flush = () => {
    if (pending.length > 0) process.stdout.write(pending.join(''));
    pending = [];
  };
  try {
    for (;;) {
      const m = await reply(conn);
      if (m.type === 'output') {
        pending.push(json ? JSON.stringify({ n: m.n, t: m.t, line: m.line }) + '\n' : m.line + '\n');
        if (pending.length >= 4096 || !conn.hasLine()) flush();
        continue;
      }
      flush();
      if (m.type === 'observing') {
        if (!json) process.stderr.write(paint.dim(`-- ${m.run_id}: ${m.name} on ${m.platform}\n`));
      } else if (m.type === 'run_end') {
        if (json) process.stdout.write(JSON.stringify({ run_id: m.run_id, outcome: m.outcome }) + '\n');
        else process.stderr.write(paint.dim(`-- ${m.run_id}: ${m.outcome ? describeOutcome(m.outcome) : 'no outcome recorded'}\n`));
        return;
      }
    }
  } finally {
    flush();
    conn.destroy();
  }
}
