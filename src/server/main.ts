import mri from 'mri';
import { DEFAULT_MAX_LINE } from '../protocol/connection.js';
import { checkFlags, intFlag, runMain, usageError } from '../shared/cli.js';
import { defaultConfigDir, defaultSpoolDir } from '../shared/host.js';
import { setVerbose } from '../shared/log.js';
import { PROTOCOL_VERSION, VERSION } from '../shared/version.js';
import { parseHttpFlag } from './http/address.js';
import { startServer } from './server.js';
import { uploadConfig, UPLOAD_FLAGS, UPLOAD_HELP } from './upload-flags.js';

const HELP = `usage: builder-server [options]

Keeps the schedule and queues of build jobs in a spool directory, hands jobs
to connected workers and stores their results.

options:
  --ip IP               address to listen on (default 127.0.0.1)
  --port N              TCP port (default 1234; 0 picks a free one)
  --dir DIR             spool directory (default ${defaultSpoolDir()})
  --config-dir DIR      templates directory (default ${defaultConfigDir()})
  --heartbeat SECONDS   heartbeat period; 3 silent periods mean a lost worker (default 10)
  --retries N           retries of a due run after a lost worker or a timeout (default 2)
  --kill-grace SECONDS  time a worker gets to stop a run before it counts as lost (default 10)
  --keep N              keep the newest N results per job, remove older ones (default 0: keep all)
${UPLOAD_HELP}
  --http [ADDR:]PORT    serve a read-only status page, /metrics and /healthz (off by default;
                        loopback unless ADDR is given)
  --insecure            allow --http on an address other than loopback (the page has no credentials)
  --verbose             debug log lines and stack traces
  --version, --help

exit codes: 0 ok, 123 failure, 124 bad usage, 125 internal error`;

void runMain(async (argv) => {
  const known = ['ip', 'port', 'dir', 'config-dir', 'heartbeat', 'retries', 'kill-grace', 'keep', 'http', 'insecure', 'verbose', 'version', 'help', ...UPLOAD_FLAGS.known];
  const args = mri(argv, {
    string: ['ip', 'dir', 'config-dir', 'http', ...UPLOAD_FLAGS.string],
    boolean: ['verbose', 'version', 'help', 'insecure', ...UPLOAD_FLAGS.boolean],
    default: { ip: '127.0.0.1', port: '1234', heartbeat: '10', retries: '2', 'kill-grace': '10', keep: '0' },
  });
  checkFlags('builder-server', args, known);
  if (args.help) return void console.log(HELP);
  if (args.version) return void console.log(`builder-server ${VERSION} (protocol ${PROTOCOL_VERSION})`);
  if (args._.length > 0) usageError(`unexpected argument "${args._[0]}" (see builder-server --help)`);
  setVerbose(args.verbose === true);
  const server = await startServer({
    dir: args.dir ?? defaultSpoolDir(),
    configDir: args['config-dir'] ?? defaultConfigDir(),
    ip: String(args.ip),
    port: intFlag('--port', args.port, 0, 65535),
    heartbeatMs: Math.round(Number(args.heartbeat) * 1000) || usageError(`--heartbeat must be a positive number of seconds`),
    retries: intFlag('--retries', args.retries, 0, 100),
    killGraceS: intFlag('--kill-grace', args['kill-grace'], 1, 3600),
    maxLine: DEFAULT_MAX_LINE,
    keep: intFlag('--keep', args.keep, 0, 1_000_000),
    upload: uploadConfig(args),
    http: args.http === undefined ? null : parseHttpFlag(args.http, args.insecure === true),
  });
  console.log(`builder-server ${VERSION} listening ${server.address.ip}:${server.address.port}`);
  if (server.http) console.log(`builder-server status page on http://${server.http.ip.includes(':') ? `[${server.http.ip}]` : server.http.ip}:${server.http.port}/`);
  await new Promise<void>((resolve) => {
    const stop = () => void server.stop().then(resolve);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
});
