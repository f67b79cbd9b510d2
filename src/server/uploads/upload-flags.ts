import { intFlag, usageError } from '../../shared/cli.js';
import { parseUploadTarget } from '../../upload/http-post.js';
import { NO_UPLOAD, type UploadConfig } from './upload.js';

// builder-server's upload flags, kept apart from main.ts so the upload
// feature is one import there.

/** Help lines for the upload flags. */
export const UPLOAD_HELP = `  --upload URL          POST each finished run to builder-web at URL (user:pass@ in the
                        URL is sent as HTTP basic auth and never logged); kept in the
                        spool's outbox/ and retried until delivered
  --keep-local          with --upload, keep the local copy of uploaded runs too
  --save-format json|der  der: also write each result as results/<job>/<run-id>/run.der
  --upload-backoff-ms N first retry delay of an upload, doubling up to 120 times it (default 5000)
  --upload-max-failures N  consecutive 400/5xx answers before a run goes to dead-letter/ (default 10)
  --upload-timeout SECONDS  abandon (and retry) an upload without progress this long (default 60)`;

/** The flags for mri and checkFlags. */
export const UPLOAD_FLAGS = {
  known: ['upload', 'keep-local', 'save-format', 'upload-backoff-ms', 'upload-max-failures', 'upload-timeout'],
  string: ['upload', 'save-format'],
  boolean: ['keep-local'],
};

/** Reads the upload flags (bad values are usage errors, exit 124). */
export function uploadConfig(args: Record<string, unknown>): UploadConfig {
  const format = args['save-format'] === undefined ? 'json' : String(args['save-format']);
  if (format !== 'json' && format !== 'der') usageError(`--save-format must be json or der, not "${format}"`);
  const upload = args.upload;
  if (upload !== undefined && (typeof upload !== 'string' || upload === '')) usageError('--upload needs a URL');
  if (args['keep-local'] === true && upload === undefined) usageError('--keep-local only makes sense with --upload URL');
  return {
    target: typeof upload === 'string' ? parseUploadTarget(upload) : null,
    keepLocal: args['keep-local'] === true,
    saveDer: format === 'der',
    backoffMs: args['upload-backoff-ms'] === undefined ? NO_UPLOAD.backoffMs : intFlag('--upload-backoff-ms', args['upload-backoff-ms'], 1, 3_600_000),
    maxFailures: args['upload-max-failures'] === undefined ? NO_UPLOAD.maxFailures : intFlag('--upload-max-failures', args['upload-max-failures'], 1, 1000),
    idleMs: 1000 * (args['upload-timeout'] === undefined ? NO_UPLOAD.idleMs / 1000 : intFlag('--upload-timeout', args['upload-timeout'], 1, 86_400)),
  };
}
