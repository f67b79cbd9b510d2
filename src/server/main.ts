import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import mri from 'mri';
import { DEFAULT_MAX_LINE } from '../protocol/connection.js';
import { checkFlags, flattenBooleans, intFlag, prepareArgv, runMain, usageError } from '../shared/cli.js';
import { defaultConfigDir, defaultSpoolDir } from '../shared/host.js';
import { BuilderError, reason } from '../shared/errors.js';
import { log, setVerbose } from '../shared/log.js';
import { VERSION, versionLine } from '../shared/version.js';
import { parseHttpFlag, parseHttpHosts } from './http/address.js';
import { DEFAULT_LIMITS, formatBytes } from './core/limits.js';
import { loadSecurity } from './config/security.js';
import { startServer } from './server.js';
import { checkCompatAddress } from '../compat/compat-listener.js';
import { runImportState } from '../compat/import-state-command.js';
import { uploadConfig, UPLOAD_FLAGS, UPLOAD_HELP } from './uploads/upload-flags.js';

const HELP = `usage: builder-server [options]
       builder-server import-state FILE [--dir SPOOL] [--merge] [--dry-run] [--json]

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
  --compat-port N       also speak the original builder's protocol on this port (same --ip; off by
                        default), for its unmodified builder-worker and builder-client; it has no
                        credentials, so beyond loopback it needs --insecure (see README "Migrating")
  --verbose             debug log lines and stack traces
  --version, --help

security and limits (see README "Security"):
  --worker-token-file FILE  the secret workers must send (their --token-file)
  --client-token-file FILE  the secret clients must send over TCP (their --token-file)
  --tls-cert FILE --tls-key FILE  speak TLS on the TCP port with this certificate (PEM)
  --tls-client-ca FILE      workers must present a certificate signed by this CA (mTLS)
  --socket PATH             also listen on a Unix socket for local clients (mode 0600, no token)
  --local-clients-only      clients only over --socket: TCP clients are refused, even on loopback
  --insecure                allow a non-loopback --ip without credentials
  --max-artifacts N         files one run may send back (default ${DEFAULT_LIMITS.maxArtifacts})
  --max-artifact-bytes N    total artifact bytes of one run (default ${DEFAULT_LIMITS.maxArtifactBytes}, ${formatBytes(DEFAULT_LIMITS.maxArtifactBytes)})
  --max-console-bytes N     console bytes of one run (default ${DEFAULT_LIMITS.maxConsoleBytes}, ${formatBytes(DEFAULT_LIMITS.maxConsoleBytes)})
  --max-line N              longest protocol line in bytes (default ${DEFAULT_MAX_LINE})
  --max-connections-per-address N  open connections from one IP (default ${DEFAULT_LIMITS.maxConnectionsPerAddress})
  --hello-timeout SECONDS   time a new connection has for TLS and its hello (default ${DEFAULT_LIMITS.helloTimeoutMs / 1000})
  --client-idle-timeout SECONDS  time a client may stay silent inside schedule --from, or an observer
                            may leave its console unread, before it is closed (default ${DEFAULT_LIMITS.clientIdleMs / 1000})

A flag given twice counts once, the last one (so flags appended in a service
file's settings override the ones it passes, e.g. --ip).

exit codes: 0 ok, 123 failure, 124 bad usage, 125 internal error`;

/** A spool that cannot be opened (not root, read-only) is the operator's to fix: say which path and what to do. */
function spoolError(e: unknown, dir: string): unknown {
  // The spool's own error (spool_open) wraps the system error: look at that.
  const err = (e instanceof BuilderError && e.code === 'spool_open' && e.cause ? e.cause : e) as NodeJS.ErrnoException;
  if (!['EACCES', 'EPERM', 'EROFS', 'ENOTDIR'].includes(err?.code ?? '')) return e;
  const path = err.path ?? dir;
  const who = typeof process.getuid === 'function' ? `user ${userInfo().username}` : 'this user';
  return new BuilderError('spool_unusable', `cannot use the spool ${dir}: ${reason(err)} (${path}) for ${who}; run as the user who owns it (e.g. builder), or give --dir DIR`, { cause: e });
}

void runMain(async (argv) => {
  if (argv[0] === 'import-state') return runImportState(argv.slice(1));
  const secure = ['worker-token-file', 'client-token-file', 'tls-cert', 'tls-key', 'tls-client-ca', 'socket'];
  const limits = ['max-artifacts', 'max-artifact-bytes', 'max-console-bytes', 'max-line', 'max-connections-per-address', 'hello-timeout', 'client-idle-timeout'];
  const known = ['ip', 'port', 'compat-port', 'dir', 'config-dir', 'heartbeat', 'retries', 'kill-grace', 'reattach-grace', 'keep', 'http', 'http-host', 'insecure', 'local-clients-only', 'verbose', 'version', 'help', ...secure, ...limits, ...UPLOAD_FLAGS.known];
  const booleans = ['verbose', 'version', 'help', 'insecure', 'local-clients-only', ...UPLOAD_FLAGS.boolean];
  // why last-wins: service files pass defaults (--ip ...) and append the operator's flags, which must override them.
  const values = known.filter((k) => !booleans.includes(k));
  const args = mri(prepareArgv('builder-server', argv, { values, lists: ['http-host'], repeat: 'last' }), {
    string: ['ip', 'dir', 'config-dir', 'http', 'http-host', ...secure, ...UPLOAD_FLAGS.string],
    boolean: [...booleans],
    default: { ip: '127.0.0.1', port: '1234', heartbeat: '10', retries: '2', 'kill-grace': '10', keep: '0' },
  });
  flattenBooleans(args, booleans);
  checkFlags('builder-server', args, known);
  if (args.help) return void console.log(HELP);
  if (args.version) return void console.log(versionLine('builder-server'));
  if (args._.length > 0) usageError(`unexpected argument "${args._[0]}" (see builder-server --help)`);
  setVerbose(args.verbose === true);
  const ip = String(args.ip);
  const compatPort = args['compat-port'] === undefined ? null : intFlag('--compat-port', args['compat-port'], 0, 65535);
  if (compatPort !== null) checkCompatAddress(ip, args.insecure === true);
  const str = (k: string): string | undefined => (typeof args[k] === 'string' && args[k] !== '' ? String(args[k]) : undefined);
  const security = await loadSecurity(ip, {
    workerTokenFile: str('worker-token-file'),
    clientTokenFile: str('client-token-file'),
    tlsCert: str('tls-cert'),
    tlsKey: str('tls-key'),
    tlsClientCa: str('tls-client-ca'),
    socket: str('socket'),
    localClientsOnly: args['local-clients-only'] === true,
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
  const dir = resolve(String(args.dir ?? defaultSpoolDir()));
  // A start that fails has closed what it opened; should anything still hold the process, it exits anyway.
  const server = await startServer({
    dir,
    configDir: args['config-dir'] ?? defaultConfigDir(),
    ip,
    port: intFlag('--port', args.port, 0, 65535),
    compatPort,
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
      clientIdleMs: seconds('--client-idle-timeout', args['client-idle-timeout'], D.clientIdleMs / 1000),
    },
    keep: intFlag('--keep', args.keep, 0, 1_000_000),
    upload: uploadConfig(args),
    http: args.http === undefined ? null : parseHttpFlag(args.http, { insecure: args.insecure === true, clientToken: security.clientToken !== undefined }),
    httpHosts: parseHttpHosts(args['http-host']),
  }).catch((e: unknown) => {
    setTimeout(() => process.exit(), 500).unref();
    throw spoolError(e, dir);
  });
  log('info', `spool ${dir}`);
  console.log(`builder-server ${VERSION} listening ${server.address.ip}:${server.address.port}`);
  if (server.compat) console.log(`builder-server original protocol (--compat-port) listening ${server.compat.ip}:${server.compat.port}`);
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
