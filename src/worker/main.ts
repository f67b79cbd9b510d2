import mri from 'mri';
import { parseRemote } from '../protocol/dial.js';
import { checkName } from '../protocol/decode.js';
import { checkFlags, flattenBooleans, prepareArgv, runMain, usageError } from '../shared/cli.js';
import { EXIT } from '../shared/errors.js';
import { setVerbose } from '../shared/log.js';
import { readTransportFlags, transportHelp, WORKER_TRANSPORT_FLAGS } from '../protocol/transport-flags.js';
import { versionLine } from '../shared/version.js';
import { joinEngineFlags, sandboxFromFlags, SANDBOX_FLAGS, SANDBOX_HELP } from './sandbox-flags.js';
import { runWorker } from './worker.js';
import { checkWorkdir } from './workdir.js';

const HELP = `usage: builder-worker PLATFORM [--remote HOST:PORT] [--once | --loop]
                      [--sandbox none|docker|podman|jail] [--image IMAGE] [--engine-flags 'WORDS']
                      [--job-user USER] [--jail-snapshot POOL/DATASET@SNAP] [--token-file FILE]

Connects to builder-server, takes a job for PLATFORM, runs it in a fresh
private dir in its sandbox and sends back its console, outcome and artifacts.
The worker keeps the credential; a job never gets it, nor any BUILDER_*
variable or anything else of the worker's environment.

options:
  -r, --remote HOST:PORT  the server (default $BUILDER_REMOTE, else 127.0.0.1:1234)
  --once                  run one job, then exit (the default: one sandbox per job)
  --loop                  keep taking jobs, reconnecting with back-off
  --workdir DIR           where to make the per-job temp dirs (default: the OS temp dir)
${SANDBOX_HELP}
${transportHelp({ socket: false, clientCert: true })}
  --verbose               debug log lines and stack traces
  --version, --help

A lost server mid-job does not stop the job: the worker reconnects (also with
--once) and resumes the run; if the server gave the run up meanwhile, the job
is killed.

signals: SIGTERM/SIGINT stop at once (a running job is killed and requeued);
SIGHUP drains: the running job goes on to its end and is reported, no new job
is taken, then exit 75 (an idle worker exits 75 at once), so that a
supervisor starts it again, e.g. on a new binary after an upgrade.

exit codes: 0 ok, 75 drained (SIGHUP: start me again), 123 failure (server
unreachable, the run given up while away), 124 bad usage, 125 internal error`;

void runMain(async (argv) => {
  const strings = ['remote', 'workdir', ...WORKER_TRANSPORT_FLAGS, ...SANDBOX_FLAGS];
  const booleans = ['once', 'loop', 'verbose', 'version', 'help'];
  // A flag given twice: the last counts (service files append the operator's flags to theirs).
  const args = mri(prepareArgv('builder-worker', joinEngineFlags(argv), { values: strings, alias: { r: 'remote' }, repeat: 'last' }), { alias: { r: 'remote' }, string: [...strings], boolean: [...booleans] });
  flattenBooleans(args, booleans);
  checkFlags('builder-worker', args, ['remote', 'r', 'workdir', 'once', 'loop', 'verbose', 'version', 'help', ...WORKER_TRANSPORT_FLAGS, ...SANDBOX_FLAGS]);
  if (args.help) return void console.log(HELP);
  if (args.version) return void console.log(versionLine('builder-worker'));
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
  // The credential is read once, here, before any job exists.
  const transport = await readTransportFlags(args);
  const sandbox = sandboxFromFlags(args, String(platform));
  await sandbox.claim?.();
  const stop = new AbortController();
  if (args.workdir) await checkWorkdir(String(args.workdir));
  // The worker says what stopping means (idle, or killing a job): see runWorker.
  const onSignal = (sig: NodeJS.Signals) => stop.abort(sig);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  // SIGHUP drains: the job goes on to its end and is reported, then exit 75 asks the supervisor for a fresh start (why `on`: a second SIGHUP must not kill).
  const drain = new AbortController();
  process.on('SIGHUP', () => drain.abort('SIGHUP'));
  await runWorker({
    stop: stop.signal,
    drain: drain.signal,
    platform: String(platform),
    remote: { ...parseRemote(args.remote ?? process.env.BUILDER_REMOTE ?? '127.0.0.1:1234'), ...transport },
    loop: args.loop === true,
    sandbox,
    ...(args.workdir ? { workRoot: args.workdir } : {}),
  });
  return drain.signal.aborted && !stop.signal.aborted ? EXIT.drained : EXIT.ok;
});
