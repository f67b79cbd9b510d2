import os from 'node:os';
import { intFlag, usageError } from '../../shared/cli.js';
import { describeOutcome, type Outcome } from '../../protocol/types.js';
import { EXIT } from '../../shared/errors.js';
import type { Connection } from '../../protocol/connection.js';
import type { Command } from '../command.js';
import { paint } from '../output.js';
import { open, reply } from '../request.js';
import { runIdArg } from '../run-id.js';

/** The exit codes of observe and observe-latest, for their --help. */
export const OBSERVE_EXIT = `  Exit: 0 once the run has an outcome (with --exit-status: 0 only for exit 0, else 1);
  123 when it ended without one (the server stopped, the connection was lost).`;

/** observe's exit code: 123 without an outcome; with --exit-status 0 for exited 0 and 1 for anything else. */
export function observeExit(outcome: Outcome | null, exitStatus: boolean): number {
  if (outcome === null) return EXIT.failure;
  if (!exitStatus) return EXIT.ok;
  return outcome.kind === 'exited' && outcome.code === 0 ? 0 : 1;
}

export const observe: Command = {
  name: 'observe',
  summary: "print a run's console: what came before, then live until it ends",
  usage: `observe RUN_ID [--from N] [--exit-status]
  RUN_ID    a run id, or a unique prefix of one (at least 4 characters)
  --from N  start at line N (0-based), e.g. to resume after a dropped connection.
  --exit-status  exit as the run did: 0 if it exited 0, 1 otherwise (failed, signalled, cancelled)
  --json prints one JSON object per line: {"n","t","line"}, then {"outcome"}.
${OBSERVE_EXIT}`,
  flags: ['from', 'exit-status'],
  booleans: ['exit-status'],
  async run({ remote, json, args }) {
    if (args._.length !== 1) usageError('observe takes one RUN_ID (see: builder-client info)');
    const runId = runIdArg(String(args._[0]));
    const from = args.from === undefined ? 0 : intFlag('--from', args.from, 0, Number.MAX_SAFE_INTEGER);
    const outcome = await followRun(await open(remote, { type: 'observe', run_id: runId, from }), json);
    return observeExit(outcome, args['exit-status'] === true);
  },
};

/** Prints an observed run's lines as they arrive until it ends; the outcome goes to stderr (or as the last JSON line) and is returned (null: none recorded). */
export async function followRun(conn: Connection, json: boolean): Promise<Outcome | null> {
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
        else if (m.outcome) process.stderr.write(paint.dim(`-- ${m.run_id}: ${describeOutcome(m.outcome)}\n`));
        else process.stderr.write(`-- ${m.run_id}: ended without an outcome (the server stopped or lost the run; see builder-client results)\n`);
        return m.outcome;
      }
    }
  } finally {
    flush();
    conn.destroy();
  }
}
