import { intFlag, usageError } from '../../shared/cli.js';
import type { Outcome } from '../../protocol/types.js';
import { EXIT } from '../../shared/errors.js';
import type { Command } from '../command.js';
import { observeRun } from '../follow-run.js';
import { runIdArg } from '../run-id.js';

/** The exit codes of observe and observe-latest, for their --help. */
export const OBSERVE_EXIT = `  Exit: 0 once the run has an outcome (with --exit-status: 0 only for exit 0, else 1);
  123 when it ended without one, or the server stayed away past --reconnect-for.`;

/** The reconnect flag of observe and observe-latest, for their --help. */
export const RECONNECT_HELP = `  --reconnect-for S  when the connection drops before the run ended (a server restart),
            reconnect on its own for up to S seconds (default 60; 0: do not) and go on
            from the line after the last one printed`;

/** --reconnect-for in ms (default 60 s). */
export function reconnectMs(value: unknown): number {
  return value === undefined ? 60_000 : intFlag('--reconnect-for', value, 0, 86_400) * 1000;
}

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
${RECONNECT_HELP}
  --json prints one JSON object per line: {"n","t","line"}, then {"outcome"}.
${OBSERVE_EXIT}`,
  flags: ['from', 'exit-status', 'reconnect-for'],
  booleans: ['exit-status'],
  async run({ remote, json, args }) {
    if (args._.length !== 1) usageError('observe takes one RUN_ID (see: builder-client info)');
    const runId = runIdArg(String(args._[0]));
    const from = args.from === undefined ? 0 : intFlag('--from', args.from, 0, Number.MAX_SAFE_INTEGER);
    const outcome = await observeRun(remote, { type: 'observe', run_id: runId, from }, json, reconnectMs(args['reconnect-for']));
    return observeExit(outcome, args['exit-status'] === true);
  },
};
