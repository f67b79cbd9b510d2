import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BuilderError } from '../shared/errors.js';
import type { EncodedExec } from './exec-encode.js';

// POSTs one Exec blob to builder-web. The body streams from the encoder
// through pipeline(), so the socket's backpressure paces the disk reads and
// memory stays at a few chunks whatever the artifacts weigh.

/** Where uploads go: the URL without credentials, the Authorization header, and the URL as logs may show it. */
export interface UploadTarget {
  url: URL;
  authorization: string | null;
  /** The URL with the password replaced by `***`: the only form ever logged. */
  shown: string;
}

/** Parses `--upload URL`; credentials in `user:pass@` become HTTP basic auth and leave the URL. */
export function parseUploadTarget(text: string): UploadTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new BuilderError('usage', `--upload needs an http:// or https:// URL, not "${maskUrlText(text)}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new BuilderError('usage', `--upload needs an http:// or https:// URL, not ${url.protocol}`);
  }
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  const authorization = user || pass ? `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` : null;
  const shownUrl = new URL(url.href);
  if (shownUrl.password) shownUrl.password = '***';
  url.username = '';
  url.password = '';
  return { url, authorization, shown: shownUrl.href.replace('%2A%2A%2A', '***') };
}

/** Masks the password of a URL-like text that did not parse (so an error line never shows it). */
function maskUrlText(text: string): string {
  return text.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1:***@');
}

/** The receiver's answer: its status and up to 200 characters of its body, for the log. */
export interface PostAnswer {
  status: number;
  body: string;
}

/**
 * Sends the blob with Content-Length = encoded.length. Resolves with the
 * answer (any status); rejects on a refused or broken connection, on
 * `idleMs` without progress (`upload_timeout`), or when an artifact cannot
 * be read (`artifact_read`, `artifact_changed`: the encoder's errors).
 */
export function postExec(target: UploadTarget, encoded: EncodedExec, opts: { idleMs: number; signal?: AbortSignal }): Promise<PostAnswer> {
  const mod = target.url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'content-length': String(encoded.length),
  };
  if (target.authorization) headers.authorization = target.authorization;
  return new Promise<PostAnswer>((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void): void => {
      if (!settled) {
        settled = true;
        f();
      }
    };
    // agent: false: one fresh connection per upload; a kept-alive socket the receiver closed would fail the next one.
    const req = mod.request(target.url, { method: 'POST', headers, agent: false, timeout: opts.idleMs, signal: opts.signal });
    req.on('timeout', () => req.destroy(new BuilderError('upload_timeout', `no progress for ${Math.round(opts.idleMs / 1000)} s`)));
    req.on('error', (e) => settle(() => reject(e)));
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 200) body += d.slice(0, 200 - body.length);
      });
      res.on('error', (e) => settle(() => reject(e)));
      res.on('end', () => {
        settle(() => resolve({ status: res.statusCode ?? 0, body: body.replace(/\s+/g, ' ').trim() }));
        // A receiver that answered before reading the whole body (e.g. 401) needs no more of it.
        req.destroy();
      });
    });
    pipeline(Readable.from(encoded.body(), { objectMode: false }), req).catch((e: unknown) => settle(() => reject(e)));
  });
}
