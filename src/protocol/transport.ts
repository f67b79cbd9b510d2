import net from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { BuilderError, reason } from '../shared/errors.js';

/** How to reach the server besides HOST:PORT: TLS, a Unix socket, a credential. */
export interface TransportOptions {
  /** Connect over this Unix socket instead of TCP (the server's --socket). */
  socketPath?: string;
  /** Speak TLS and trust only this CA (PEM); with cert/key, present a client certificate (mTLS). */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  /** The credential sent in the hello (--token-file / BUILDER_TOKEN). */
  token?: string;
}

/** Where a connection goes, for messages: `unix:PATH` or `HOST:PORT`. */
export function describeTarget(host: string, port: number, t: TransportOptions): string {
  return t.socketPath ? `unix:${t.socketPath}` : `${host}:${port}`;
}

/**
 * Opens the byte stream to the server: a Unix socket, TLS (the server's
 * certificate verified against the given CA and the host name or IP), or
 * plain TCP. Fails with a one-line error naming the target and what to check.
 */
export async function connectSocket(host: string, port: number, t: TransportOptions, signal?: AbortSignal): Promise<net.Socket> {
  const where = describeTarget(host, port, t);
  // why load it here: node:tls (and crypto under it) costs a client ~15 ms of start-up that plain TCP does not need.
  const tls = t.tls && !t.socketPath ? await import('node:tls') : null;
  try {
    return await new Promise<net.Socket>((resolve, reject) => {
      let s: net.Socket;
      if (t.socketPath) s = net.connect({ path: t.socketPath }, () => done());
      else if (t.tls && tls) {
        const opts: ConnectionOptions = { host, port, ca: t.tls.ca, minVersion: 'TLSv1.2' };
        // SNI takes host names only; an IP is still checked against the certificate's IP entries.
        if (!net.isIP(host)) opts.servername = host;
        if (t.tls.cert) opts.cert = t.tls.cert;
        if (t.tls.key) opts.key = t.tls.key;
        s = tls.connect(opts, () => done());
      } else s = net.connect({ host, port }, () => done());
      // An abort (the caller's deadline) ends a connect that hangs (a frozen host).
      const abort = () => s.destroy(new BuilderError('timeout', 'timed out'));
      function done(): void {
        s.off('error', reject);
        signal?.removeEventListener('abort', abort);
        resolve(s);
      }
      s.once('error', reject);
      if (signal?.aborted) abort();
      else signal?.addEventListener('abort', abort, { once: true });
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (t.tls && /CERT|SELF_SIGNED|ALTNAME|UNABLE_TO|ISSUER/i.test(code))
      throw new BuilderError('tls_untrusted', `cannot connect to ${where} over TLS: the server's certificate is not trusted: ${reason(e)} (is --tls-ca the CA that signed it, and is ${host} in it?)`, { cause: e });
    const lookup = code === 'ENOTFOUND' || code === 'EAI_AGAIN';
    const hint = t.socketPath ? 'is builder-server running with --socket?' : lookup ? `check the host name ${host} in --remote / BUILDER_REMOTE` : 'is builder-server running? see --remote / BUILDER_REMOTE';
    throw new BuilderError('connect_failed', `cannot connect to ${where}${t.tls ? ' over TLS' : ''}: ${reason(e)} (${hint})`, { cause: e });
  }
}
