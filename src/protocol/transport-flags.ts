import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { TransportOptions } from './transport.js';
import { BuilderError, reason } from '../shared/errors.js';
import { checkToken, readTokenFile, registerSecret } from '../shared/secrets.js';

/** The client's connection flags (their values are file paths). */
export const CLIENT_TRANSPORT_FLAGS = ['token-file', 'tls-ca', 'socket'];
/** The worker's connection flags: a worker may present a client certificate (mTLS). */
export const WORKER_TRANSPORT_FLAGS = ['token-file', 'tls-ca', 'tls-cert', 'tls-key'];

/** Help lines for the transport flags, for a program's --help. */
export function transportHelp(opts: { socket: boolean; clientCert: boolean }): string {
  return [
    '  --token-file FILE       the credential for the server (default: $CREDENTIALS_DIRECTORY/token,',
    '                          from systemd\'s LoadCredential=token:FILE, else $BUILDER_TOKEN)',
    '  --tls-ca FILE           speak TLS and trust only the CA certificate in FILE (PEM)',
    ...(opts.clientCert ? ['  --tls-cert FILE --tls-key FILE  a client certificate and key for the server\'s --tls-client-ca'] : []),
    ...(opts.socket ? ['  --socket PATH           connect over the server\'s local Unix socket (no token needed)'] : []),
  ].join('\n');
}

async function pem(path: string, flag: string): Promise<Buffer> {
  try {
    return await fs.readFile(path);
  } catch (e) {
    throw new BuilderError('usage', `cannot read ${path} (${flag}): ${reason(e)}`, { cause: e });
  }
}

/** The credential's name under systemd's $CREDENTIALS_DIRECTORY (`LoadCredential=token:/etc/builder/worker.token`). */
export const CREDENTIAL_NAME = 'token';

/**
 * Turns --token-file / $CREDENTIALS_DIRECTORY/token / $BUILDER_TOKEN (in
 * that order), --tls-ca, --tls-cert/--tls-key and --socket into transport
 * options. The token is registered as a secret, so it is masked in anything
 * this program prints, and $BUILDER_TOKEN is removed from this process's
 * environment, so no child inherits it.
 */
export async function readTransportFlags(args: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Promise<TransportOptions> {
  const flag = (k: string): string | undefined => (typeof args[k] === 'string' && args[k] !== '' ? (args[k] as string) : undefined);
  const t: TransportOptions = {};
  const tokenFile = flag('token-file');
  const credential = env.CREDENTIALS_DIRECTORY ? join(env.CREDENTIALS_DIRECTORY, CREDENTIAL_NAME) : undefined;
  if (tokenFile) t.token = await readTokenFile(tokenFile, '--token-file');
  else if (credential && existsSync(credential)) t.token = await readTokenFile(credential, '$CREDENTIALS_DIRECTORY (LoadCredential=token:...)');
  else if (env.BUILDER_TOKEN) {
    const token = env.BUILDER_TOKEN.trim();
    checkToken(token, 'the token in $BUILDER_TOKEN');
    registerSecret(token);
    t.token = token;
  }
  delete env.BUILDER_TOKEN;
  const ca = flag('tls-ca');
  const cert = flag('tls-cert');
  const key = flag('tls-key');
  if ((cert === undefined) !== (key === undefined)) throw new BuilderError('usage', '--tls-cert and --tls-key go together: give both, or neither');
  if (cert && !ca) throw new BuilderError('usage', '--tls-cert needs --tls-ca (the CA that signed the server\'s certificate)');
  if (ca) {
    t.tls = { ca: await pem(ca, '--tls-ca') };
    if (cert && key) {
      t.tls.cert = await pem(cert, '--tls-cert');
      t.tls.key = await pem(key, '--tls-key');
    }
  }
  const socket = flag('socket');
  if (socket) {
    if (ca) throw new BuilderError('usage', '--socket and --tls-ca exclude each other: the local socket is not TLS');
    t.socketPath = socket;
  }
  return t;
}
