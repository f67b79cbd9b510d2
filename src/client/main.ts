import mri from 'mri';
import { parseRemote } from '../protocol/dial.js';
import { checkFlags, runMain, usageError } from '../shared/cli.js';
import { setVerbose } from '../shared/log.js';
import { readTransportFlags, CLIENT_TRANSPORT_FLAGS, transportHelp } from '../protocol/transport-flags.js';
import { PROTOCOL_VERSION, VERSION } from '../shared/version.js';
import type { Command } from './command.js';
import { cancel } from './commands/cancel.js';
import { compare } from './commands/compare.js';
import { dropPlatform } from './commands/drop-platform.js';
import { execute } from './commands/execute.js';
import { fetch } from './commands/fetch.js';
import { info } from './commands/info.js';
import { observeLatest } from './commands/observe-latest.js';
import { inspect } from './commands/inspect.js';
import { observe } from './commands/observe.js';
import { orbBuild } from './commands/orb-build.js';
import { pause } from './commands/pause.js';
import { reschedule } from './commands/reschedule.js';
import { results } from './commands/results.js';
import { resume } from './commands/resume.js';
import { schedule } from './commands/schedule.js';
import { undropPlatform } from './commands/undrop-platform.js';
import { unschedule } from './commands/unschedule.js';

/** Every command, by the name typed on the command line. */
const COMMANDS: Command[] = [
  schedule,
  orbBuild,
  unschedule,
  reschedule,
  execute,
  info,
  observe,
  observeLatest,
  cancel,
  pause,
  resume,
  dropPlatform,
  undropPlatform,
  results,
  fetch,
  compare,
  inspect,
];
const GLOBAL = ['remote', 'r', 'json', 'verbose', 'help', 'h', 'version', ...CLIENT_TRANSPORT_FLAGS];

function help(): string {
  return `usage: builder-client [--remote HOST:PORT] [--json] COMMAND [ARGS]

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join('\n')}

options:
  -r, --remote HOST:PORT  the server (default $BUILDER_REMOTE, else 127.0.0.1:1234)
${transportHelp({ socket: true, clientCert: false })}
  --json                  machine-readable output
  --verbose               stack traces for internal errors
  --version, -h, --help   (builder-client COMMAND --help for one command)

exit codes: 0 ok, 123 failure (the server refused, or is unreachable),
124 bad usage, 125 internal error`;
}

void runMain(async (argv) => {
  // Two passes: the command decides which of its flags take no value (inspect --job vs observe-latest --job NAME).
  const globalBooleans = ['json', 'verbose', 'help', 'version'];
  const name = mri(argv, { alias: { r: 'remote', h: 'help' }, boolean: globalBooleans, string: ['remote', ...CLIENT_TRANSPORT_FLAGS] })._[0];
  const booleans = [...globalBooleans, ...(COMMANDS.find((c) => c.name === name)?.booleans ?? [])];
  const args = mri(argv, { alias: { r: 'remote', h: 'help' }, boolean: booleans, string: ['remote', ...CLIENT_TRANSPORT_FLAGS] });
  if (args.version) return void console.log(`builder-client ${VERSION} (protocol ${PROTOCOL_VERSION})`);
  if (name === undefined) {
    if (args.help) return void console.log(help());
    usageError('missing COMMAND (see builder-client --help)');
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) usageError(`unknown command "${name}" (see builder-client --help)`);
  if (args.help) return void console.log(`usage: builder-client [--remote HOST:PORT] [--json] ${cmd.usage}`);
  checkFlags(`builder-client ${cmd.name}`, args, [...GLOBAL, ...cmd.flags]);
  setVerbose(args.verbose === true);
  const transport = await readTransportFlags(args);
  // With --socket no HOST:PORT is used (nor parsed: $BUILDER_REMOTE may be anything); offline commands need none.
  const where = transport.socketPath || cmd.offline ? { host: 'localhost', port: 0 } : parseRemote(String(args.remote ?? process.env.BUILDER_REMOTE ?? '127.0.0.1:1234'));
  const remote = { ...where, ...transport };
  return cmd.run({ remote, json: args.json === true, args: { ...args, _: args._.slice(1).map(String) } });
});
