import mri from 'mri';
import { DEFAULT_MAX_LINE } from '../protocol/connection.js';
import { checkFlags, intFlag, runMain, usageError } from '../shared/cli.js';
import { defaultConfigDir, defaultSpoolDir } from '../shared/host.js';
import { log, setVerbose } from '../shared/log.js';
import { PROTOCOL_VERSION, VERSION } from '../shared/version.js';
import { parseHttpFlag, parseHttpHosts } from './http/address.js';
import { DEFAULT_LIMITS, formatBytes } from './core/limits.js';
import { loadSecurity } from './config/security.js';
import { startServer } from './server.js';
import { uploadConfig, UPLOAD_FLAGS, UPLOAD_HELP } from './uploads/upload-flags.js';

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
  --reattach-grace SECONDS  time a run whose worker went away (a server restart, a dropped
                        connection) waits for it to reconnect and resume the run before it counts
                        as lost and is requeued (default 3 heartbeats; 0: requeue at once)
  --keep N              keep the newest N results per job, remove older ones (default 0: keep all)
${UPLOAD_HELP}
  --http [ADDR:]PORT    serve a read-only status page, /metrics and /healthz (off by default;
                        loopback unless ADDR is given)
  --http-host NAME      a Host name the status page also answers (repeatable; it always answers its
                        own address and localhost with the port, other Host headers get 421)
  --insecure            allow --http on an address other than loopback (the page has no credentials)
  --verbose             debug log lines and stack traces
  --version, --help

security and limits (see README "Security"):
  --worker-token-file FILE  the secret workers must send (their --token-file)
  --client-token-file FILE  the secret clients must send over TCP (their --token-file)
  --tls-cert FILE --tls-key FILE  speak TLS on the TCP port with this certificate (PEM)
  --tls-client-ca FILE      workers must present a certificate signed by this CA (mTLS)
  --socket PATH             also listen on a Unix socket for local clients (mode 0600, no token)
  --insecure                allow a non-loopback --ip without credentials
  --max-artifacts N         files one run may send back (default ${DEFAULT_LIMITS.maxArtifacts})
  --max-artifact-bytes N    total artifact bytes of one run (default ${DEFAULT_LIMITS.maxArtifactBytes}, ${formatBytes(DEFAULT_LIMITS.maxArtifactBytes)})
  --max-console-bytes N     console bytes of one run (default ${DEFAULT_LIMITS.maxConsoleBytes}, ${formatBytes(DEFAULT_LIMITS.maxConsoleBytes)})
  --max-line N              longest protocol line in bytes (default ${DEFAULT_MAX_LINE})
  --max-connections-per-address N  open connections from one IP (default ${DEFAULT_LIMITS.maxConnectionsPerAddress})
  --hello-timeout SECONDS   time a new connection has for TLS and its hello (default ${DEFAULT_LIMITS.helloTimeoutMs / 1000})

exit codes: 0 ok, 123 failure, 124 bad usage, 125 internal error`;

void runMain(async (argv) => {
  const secure = ['worker-token-file', 'client-token-file', 'tls-cert', 'tls-key', 'tls-client-ca', 'socket'];
  const limits = ['max-artifacts', 'max-artifact-bytes', 'max-console-bytes', 'max-line', 'max-connections-per-address', 'hello-timeout'];
  const known = ['ip', 'port', 'dir', 'config-dir', 'heartbeat', 'retries', 'kill-grace', 'reattach-grace', 'keep', 'http', 'http-host', 'insecure', 'verbose', 'version', 'help', ...secure, ...limits, ...UPLOAD_FLAGS.known];
  const args = mri(argv, {
    string: ['ip', 'dir', 'config-dir', 'http', 'http-host', ...secure, ...UPLOAD_FLAGS.string],
    boolean: ['verbose', 'version', 'help', 'insecure', ...UPLOAD_FLAGS.boolean],
    default: { ip: '127.0.0.1', port: '1234', heartbeat: '10', retries: '2', 'kill-grace': '10', keep: '0' },
  });
  checkFlags('builder-server', args, known);
  if (args.help) return void console.log(HELP);
  if (args.version) return void console.log(`builder-server ${VERSION} (protocol ${PROTOCOL_VERSION})`);
  if (args._.length > 0) usageError(`unexpected argument "${args._[0]}" (see builder-server --help)`);
  setVerbose(args.verbose === true);
  const ip = String(args.ip);
  const str = (k: string): string | undefined => (typeof args[k] === 'string' && args[k] !== '' ? String(args[k]) : undefined);
  const security = await loadSecurity(ip, {
    workerTokenFile: str('worker-token-file'),
    clientTokenFile: str('client-token-file'),
    tlsCert: str('tls-cert'),
    tlsKey: str('tls-key'),
    tlsClientCa: str('tls-client-ca'),
    socket: str('socket'),
    insecure: args.insecure === true,
  });
  const seconds = (flag: string, v: unknown, dflt: number): number => {
    const n = v === undefined ? dflt : Number(v);
    if (!(n >= 0.1 && n <= 3600)) usageError(`${flag} must be a number of seconds from 0.1 to 3600, not "${String(v)}"`);
    return Math.round(n * 1000);
  };
  const graceFlag = (v: unknown): number => {
    const n = Number(v);
    if (v === true || v === '' || !(n >= 0 && n <= 86_400)) usageError(`--reattach-grace must be a number of seconds from 0 to 86400, not "${String(v)}"`);
    return Math.round(n * 1000);
  };
  const D = DEFAULT_LIMITS;
  const server = await startServer({
    dir: args.dir ?? defaultSpoolDir(),
    configDir: args['config-dir'] ?? defaultConfigDir(),
    ip,
    port: intFlag('--port', args.port, 0, 65535),
    heartbeatMs: seconds('--heartbeat', args.heartbeat, 10),
    retries: intFlag('--retries', args.retries, 0, 100),
    killGraceS: intFlag('--kill-grace', args['kill-grace'], 1, 3600),
    ...(args['reattach-grace'] === undefined ? {} : { reattachGraceMs: graceFlag(args['reattach-grace']) }),
    maxLine: intFlag('--max-line', args['max-line'] ?? DEFAULT_MAX_LINE, 1024, 64 * 1024 * 1024),
    security,
    limits: {
      maxArtifacts: intFlag('--max-artifacts', args['max-artifacts'] ?? D.maxArtifacts, 0, 10_000_000),
      maxArtifactBytes: intFlag('--max-artifact-bytes', args['max-artifact-bytes'] ?? D.maxArtifactBytes, 0, Number.MAX_SAFE_INTEGER),
      maxConsoleBytes: intFlag('--max-console-bytes', args['max-console-bytes'] ?? D.maxConsoleBytes, 1024, Number.MAX_SAFE_INTEGER),
      maxConnectionsPerAddress: intFlag('--max-connections-per-address', args['max-connections-per-address'] ?? D.maxConnectionsPerAddress, 1, 1_000_000),
      helloTimeoutMs: seconds('--hello-timeout', args['hello-timeout'], D.helloTimeoutMs / 1000),
    },
    keep: intFlag('--keep', args.keep, 0, 1_000_000),
    upload: uploadConfig(args),
    http: args.http === undefined ? null : parseHttpFlag(args.http, { insecure: args.insecure === true, clientToken: security.clientToken !== undefined }),
    httpHosts: parseHttpHosts(args['http-host']),
  });
  console.log(`builder-server ${VERSION} listening ${server.address.ip}:${server.address.port}`);
  if (server.http) console.log(`builder-server status page on http://${server.http.ip.includes(':') ? `[${server.http.ip}]` : server.http.ip}:${server.http.port}/`);
  if (security.socketPath) log('info', `local clients: ${security.socketPath}${security.tls ? '; TCP speaks TLS' : ''}`);
  await new Promise<void>((resolve) => {
    // SIGINT from a terminal and SIGTERM from a supervisor may both arrive: stop once.
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      void server.stop().then(resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
});
