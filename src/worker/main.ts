import mri from 'mri';
import { parseRemote } from '../protocol/dial.js';
import { checkName } from '../protocol/decode.js';
import { checkFlags, runMain, usageError } from '../shared/cli.js';
import { setVerbose } from '../shared/log.js';
import { readTransportFlags, transportHelp, WORKER_TRANSPORT_FLAGS } from '../protocol/transport-flags.js';
import { PROTOCOL_VERSION, VERSION } from '../shared/version.js';
import { runWorker } from './worker.js';

const HELP = `usage: builder-worker PLATFORM [--remote HOST:PORT] [--once | --loop]

Connects to builder-server, takes a job for PLATFORM, runs it in a fresh
private temp dir and sends back its console, outcome and artifacts.

options:
  -r, --remote HOST:PORT  the server (default $BUILDER_REMOTE, else 127.0.0.1:1234)
  --once                  run one job, then exit (the default: one sandbox per job)
  --loop                  keep taking jobs, reconnecting with back-off
  --workdir DIR           where to make the per-job temp dirs (default: the OS temp dir)
${transportHelp({ socket: false, clientCert: true })}
  --verbose               debug log lines and stack traces
  --version, --help

A lost server mid-job does not stop the job: the worker reconnects (also with
--once) and resumes the run; if the server gave the run up meanwhile, the job
is killed.

exit codes: 0 ok, 123 failure (server unreachable, the run given up while
away), 124 bad usage, 125 internal error`;

void runMain(async (argv) => {
  const args = mri(argv, { alias: { r: 'remote' }, string: ['remote', 'workdir', ...WORKER_TRANSPORT_FLAGS], boolean: ['once', 'loop', 'verbose', 'version', 'help'] });
  checkFlags('builder-worker', args, ['remote', 'r', 'workdir', 'once', 'loop', 'verbose', 'version', 'help', ...WORKER_TRANSPORT_FLAGS]);
  if (args.help) return void console.log(HELP);
  if (args.version) return void console.log(`builder-worker ${VERSION} (protocol ${PROTOCOL_VERSION})`);
  setVerbose(args.verbose === true);
  const platform = args._[0];
  if (platform === undefined) usageError('missing PLATFORM, e.g. builder-worker debian-12 (see --help)');
  if (args._.length > 1) usageError(`unexpected argument "${args._[1]}" (see builder-worker --help)`);
  try {
    checkName('platform', String(platform));
  } catch (e) {
    usageError((e as Error).message);
  }
  if (args.once && args.loop) usageError('--once and --loop exclude each other');
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`builder-worker: ${sig}: stopping (the current job is killed; the server requeues it)\n`);
    stop.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  await runWorker({
    stop: stop.signal,
    platform: String(platform),
    remote: { ...parseRemote(args.remote ?? process.env.BUILDER_REMOTE ?? '127.0.0.1:1234'), ...(await readTransportFlags(args)) },
    loop: args.loop === true,
    ...(args.workdir ? { workRoot: args.workdir } : {}),
  });
});
