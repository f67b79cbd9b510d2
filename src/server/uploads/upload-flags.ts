import { readFileSync, statSync } from 'node:fs';
import { intFlag, usageError } from '../../shared/cli.js';
import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { registerSecret } from '../../shared/secrets.js';
import { parseUploadTarget, type UploadTarget } from '../../upload/http-post.js';
import { NO_UPLOAD, type UploadConfig } from './upload.js';

// builder-server's upload flags, kept apart from main.ts so the upload
// feature is one import there.

/** Help lines for the upload flags. */
export const UPLOAD_HELP = `  --upload URL          POST each finished run to builder-web at URL; kept in the
                        spool's outbox/ and retried until delivered
  --upload-credentials-file FILE  USER:PASSWORD (one line) sent as HTTP basic auth with
                        every upload; user:pass@ in the URL works too, but ps shows it
  --keep-local          with --upload, keep the local copy of uploaded runs too
  --save-format json|der  der: also write each result as results/<job>/<run-id>/run.der
  --upload-backoff-ms N first retry delay of an upload, doubling up to 120 times it (default 5000)
  --upload-max-failures N  consecutive 400/5xx answers before a run goes to dead-letter/ (default 10)
  --upload-timeout SECONDS  abandon (and retry) an upload without progress this long (default 60)`;

/** The flags for mri and checkFlags. */
export const UPLOAD_FLAGS = {
  known: ['upload', 'upload-credentials-file', 'keep-local', 'save-format', 'upload-backoff-ms', 'upload-max-failures', 'upload-timeout'],
  string: ['upload', 'upload-credentials-file', 'save-format'],
  boolean: ['keep-local'],
};

/** Reads the upload flags (bad values are usage errors, exit 124). */
export function uploadConfig(args: Record<string, unknown>): UploadConfig {
  const format = args['save-format'] === undefined ? 'json' : String(args['save-format']);
  if (format !== 'json' && format !== 'der') usageError(`--save-format must be json or der, not "${format}"`);
  const upload = args.upload;
  if (upload !== undefined && (typeof upload !== 'string' || upload === '')) usageError('--upload needs a URL');
  if (args['keep-local'] === true && upload === undefined) usageError('--keep-local only makes sense with --upload URL');
  const credentials = args['upload-credentials-file'];
  if (credentials !== undefined && (typeof credentials !== 'string' || credentials === '')) usageError('--upload-credentials-file needs a file name');
  if (credentials !== undefined && upload === undefined) usageError('--upload-credentials-file only makes sense with --upload URL');
  return {
    target: typeof upload === 'string' ? uploadTarget(upload, credentials as string | undefined) : null,
    keepLocal: args['keep-local'] === true,
    saveDer: format === 'der',
    backoffMs: args['upload-backoff-ms'] === undefined ? NO_UPLOAD.backoffMs : intFlag('--upload-backoff-ms', args['upload-backoff-ms'], 1, 3_600_000),
    maxFailures: args['upload-max-failures'] === undefined ? NO_UPLOAD.maxFailures : intFlag('--upload-max-failures', args['upload-max-failures'], 1, 1000),
    idleMs: 1000 * (args['upload-timeout'] === undefined ? NO_UPLOAD.idleMs / 1000 : intFlag('--upload-timeout', args['upload-timeout'], 1, 86_400)),
  };
}

/**
 * The upload target from --upload and --upload-credentials-file. A password
 * in the URL works but draws a warning: argv is public (ps, /proc/PID/cmdline).
 */
function uploadTarget(url: string, credentialsFile: string | undefined): UploadTarget {
  const target = parseUploadTarget(url);
  if (credentialsFile === undefined) {
    if (target.authorization !== null && new URL(url).password !== '')
      log('warn', `--upload ${target.shown}: the password is on the command line, where ps shows it to every local user; put USER:PASSWORD in a file (mode 0600) and give --upload-credentials-file FILE`);
    return target;
  }
  if (target.authorization !== null) usageError('--upload URL has user:pass@ and --upload-credentials-file is given too: keep the credentials in the file only');
  const { user, password } = readCredentials(credentialsFile);
  const shown = target.shown.replace('://', `://${encodeURIComponent(user)}:***@`);
  return { url: target.url, authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, shown };
}

/** Reads USER:PASSWORD from a file (surrounding white space is not part of it); the password becomes a secret. */
function readCredentials(path: string): { user: string; password: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (e) {
    usageError(`cannot read the upload credentials file ${path} (--upload-credentials-file): ${reason(e)}`);
  }
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1 || text.includes('\n'))
    usageError(`the upload credentials file ${path} must hold one line USER:PASSWORD (--upload-credentials-file)`);
  const password = text.slice(colon + 1);
  registerSecret(password);
  if ((statSync(path).mode & 0o077) !== 0) log('warn', `${path} (--upload-credentials-file) can be read by other users: chmod 600 it`);
  return { user: text.slice(0, colon), password };
}
