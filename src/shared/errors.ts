/**
 * Exit codes kept from the original so existing scripts keep working;
 * `drained` (EX_TEMPFAIL): a worker that finished its job on SIGHUP and asks
 * its supervisor to start it again (the new binary after an upgrade).
 */
export const EXIT = { ok: 0, failure: 123, usage: 124, internal: 125, drained: 75 } as const;

/**
 * The one error type for expected failures: a stable `code` for programs and a
 * one-line message for people that names the object and the next step.
 */
export class BuilderError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BuilderError';
  }
}

/** A short human reason for any thrown value (errno codes spelled out). */
export function reason(err: unknown): string {
  if (err instanceof BuilderError) return err.message;
  const e = err as NodeJS.ErrnoException;
  const errno: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    ENOSPC: 'no space left on device',
    ENOTDIR: 'not a directory',
    EEXIST: 'already exists',
    ECONNRESET: 'connection reset by peer',
    EPIPE: 'broken pipe',
    ETIMEDOUT: 'timed out',
    EADDRINUSE: 'address already in use',
    EISDIR: 'is a directory',
    ENOTFOUND: 'no such host',
    EAI_AGAIN: 'the host name cannot be looked up now (DNS)',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
  };
  if (e && typeof e === 'object' && typeof e.code === 'string' && errno[e.code]) return errno[e.code]!;
  if (e && typeof e === 'object' && typeof e.message === 'string') return e.message;
  return String(err);
}

/**
 * Makes peer-supplied text safe for a one-line message or log line: control
 * characters are escaped (a newline cannot forge a second log line) and the
 * text is cut at `max` characters.
 */
export function oneLine(text: string, max = 500): string {
  // eslint-disable-next-line no-control-regex
  const safe = text.replace(/[\x00-\x08\x0a-\x1f\x7f\u2028\u2029]/g, (c) => JSON.stringify(c).slice(1, -1));
  return safe.length > max ? `${safe.slice(0, max)}...` : safe;
}
