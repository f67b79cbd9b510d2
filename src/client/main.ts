import mri from 'mri';
import { parseRemote } from '../protocol/dial.js';
import { checkFlags, flattenBooleans, prepareArgv, runMain, usageError } from '../shared/cli.js';
import { setVerbose } from '../shared/log.js';
import { readTransportFlags, CLIENT_TRANSPORT_FLAGS, transportHelp } from '../protocol/transport-flags.js';
import { versionLine } from '../shared/version.js';
import type { Command } from './command.js';
import { DEFAULT_WAIT_S } from './request.js';

/**
 * Every command, by the name typed on the command line, loaded only when it
 * runs: a call loads its own command's modules (and node:crypto, node:os,
 * streams only if that command uses them), not every command's; esbuild
 * turns these import() calls into lazily initialised parts of the one bundle.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  schedule: async () => (await import('./commands/schedule.js')).schedule,
  'orb-build': async () => (await import('./commands/orb-build.js')).orbBuild,
  unschedule: async () => (await import('./commands/unschedule.js')).unschedule,
  reschedule: async () => (await import('./commands/reschedule.js')).reschedule,
  execute: async () => (await import('./commands/execute.js')).execute,
  info: async () => (await import('./commands/info.js')).info,
  observe: async () => (await import('./commands/observe.js')).observe,
  'observe-latest': async () => (await import('./commands/observe-latest.js')).observeLatest,
  cancel: async () => (await import('./commands/cancel.js')).cancel,
  pause: async () => (await import('./commands/pause.js')).pause,
  resume: async () => (await import('./commands/resume.js')).resume,
  'drop-platform': async () => (await import('./commands/drop-platform.js')).dropPlatform,
  'undrop-platform': async () => (await import('./commands/undrop-platform.js')).undropPlatform,
  results: async () => (await import('./commands/results.js')).results,
  fetch: async () => (await import('./commands/fetch.js')).fetch,
  compare: async () => (await import('./commands/compare.js')).compare,
  inspect: async () => (await import('./commands/inspect.js')).inspect,
};
const GLOBAL = ['remote', 'r', 'json', 'verbose', 'help', 'h', 'version', 'reply-timeout', ...CLIENT_TRANSPORT_FLAGS];
const GLOBAL_VALUES = ['remote', 'reply-timeout', ...CLIENT_TRANSPORT_FLAGS];
const ALIAS = { r: 'remote', h: 'help' };

async function help(): Promise<string> {
  const all = await Promise.all(Object.values(COMMANDS).map((load) => load()));
  return `usage: builder-client [--remote HOST:PORT] [--json] [--reply-timeout S] COMMAND [ARGS]

commands:
${all.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join('\n')}

options:
  -r, --remote HOST:PORT  the server (default $BUILDER_REMOTE, else 127.0.0.1:1234)
${transportHelp({ socket: true, clientCert: false })}
  --reply-timeout S       give up when the server is silent this long while connecting or
                          before its reply starts (default ${DEFAULT_WAIT_S}; exit 123)
  --json                  machine-readable output
  --verbose               stack traces for internal errors
  --version, -h, --help   (builder-client COMMAND --help for one command)

A flag given twice is refused (give it once).

exit codes: 0 ok, 123 failure (the server refused, is unreachable, or did not
answer in time; observe: the run ended without an outcome, or with
--exit-status not with exit 0), 124 bad usage, 125 internal error`;
}

void runMain(async (argv) => {
  // Two passes: the command decides which of its flags take no value (inspect --job vs observe-latest --job NAME).
  const globalBooleans = ['json', 'verbose', 'help', 'version'];
  // (mri changes the alias and list objects it is given: it gets copies.)
  const name = mri(argv, { alias: { ...ALIAS }, boolean: [...globalBooleans], string: [...GLOBAL_VALUES] })._[0];
  const cmd = typeof name === 'string' && Object.hasOwn(COMMANDS, name) ? await COMMANDS[name]!() : undefined;
  const booleans = [...globalBooleans, ...(cmd?.booleans ?? [])];
  const values = [...GLOBAL_VALUES, ...(cmd?.flags ?? []).filter((f) => !booleans.includes(f))];
  const program = cmd ? `builder-client ${cmd.name}` : 'builder-client';
  const args = mri(prepareArgv(program, argv, { values, alias: ALIAS }), { alias: { ...ALIAS }, boolean: [...booleans], string: [...GLOBAL_VALUES] });
  flattenBooleans(args, booleans);
  if (args.version) return void console.log(versionLine('builder-client'));
  // Unknown options first: a mistyped one (--jsno info) may have taken the command as its value.
  checkFlags(program, args, [...GLOBAL, ...(cmd?.flags ?? [])]);
  if (name === undefined) {
    if (args.help) return void console.log(await help());
    usageError('missing COMMAND (see builder-client --help)');
  }
  if (!cmd) usageError(`unknown command "${name}" (see builder-client --help)`);
  if (args.help) return void console.log(`usage: builder-client [--remote HOST:PORT] [--json] ${cmd.usage}`);
  if (args.socket !== undefined && args.remote !== undefined) usageError('--socket and --remote exclude each other: give one');
  setVerbose(args.verbose === true);
  const transport = await readTransportFlags(args);
  // With --socket no HOST:PORT is used (nor parsed: $BUILDER_REMOTE may be anything); offline commands need none.
  const where = transport.socketPath || cmd.offline ? { host: 'localhost', port: 0 } : parseRemote(String(args.remote ?? process.env.BUILDER_REMOTE ?? '127.0.0.1:1234'));
  const waitS = args['reply-timeout'] === undefined ? DEFAULT_WAIT_S : Number(args['reply-timeout']);
  if (!(waitS > 0 && waitS <= 86400)) usageError(`--reply-timeout must be a number of seconds from 0.1 to 86400, not "${String(args['reply-timeout'])}"`);
  const remote = { ...where, ...transport, waitMs: Math.round(waitS * 1000) };
  return cmd.run({ remote, json: args.json === true, args: { ...args, _: args._.slice(1).map(String) } });
});
