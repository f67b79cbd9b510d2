import { promises as fs } from 'node:fs';
import { BuilderError, reason } from './errors.js';

// Secrets (tokens, upload passwords) must never reach a log line, an error
// message or `info`. Every secret this process loads is registered here, and
// `maskSecrets` is applied where text leaves the process (log lines, the
// one-line errors of runMain), so a secret that slips into a message by
// accident is still masked.

const known = new Set<string>();
const MASK = '***';

/** Shortest token accepted: a guessable secret is no secret. */
export const MIN_TOKEN_LENGTH = 16;

/** Remembers a secret so that `maskSecrets` hides it wherever it appears. */
export function registerSecret(secret: string): void {
  if (secret.length >= 4) known.add(secret);
}

/**
 * Masks every registered secret, the value of any `"token"` JSON field and
 * the password of any `scheme://user:password@host` URL in `text`.
 */
export function maskSecrets(text: string): string {
  let out = text;
  for (const s of known) if (out.includes(s)) out = out.split(s).join(MASK);
  // why: a hello that fails to parse is quoted in the error, token and all.
  out = out.replace(/("token"\s*:\s*")(?:[^"\\]|\\.)*("?)/g, `$1${MASK}$2`);
  out = out.replace(/\\"token\\"\s*:\s*\\"(?:[^"\\]|\\[^"])*/g, `\\"token\\":\\"${MASK}`);
  return out.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi, `$1:${MASK}@`);
}

/** A URL for display, its password (if any) masked: `https://user:***@host/`. */
export function maskUrl(url: string): string {
  return maskSecrets(url);
}

/**
 * Reads a token from a file (surrounding whitespace and the final newline
 * are not part of it), registers it as a secret and returns it. `flag` names
 * the option in errors. Refuses an empty or short token.
 */
export async function readTokenFile(path: string, flag: string): Promise<string> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    const hint = (e as NodeJS.ErrnoException).code === 'EACCES' ? ' (the file must be readable by the user this program runs as: chown it to that user, mode 0600)' : '';
    throw new BuilderError('usage', `cannot read the token file ${path} (${flag}): ${reason(e)}${hint}`, { cause: e });
  }
  const token = text.trim();
  checkToken(token, `the token in ${path} (${flag})`);
  registerSecret(token);
  return token;
}

/** Refuses a token that is too short or has characters that do not survive a file or an environment variable. */
export function checkToken(token: string, what: string): void {
  if (token.length < MIN_TOKEN_LENGTH)
    throw new BuilderError('usage', `${what} is ${token.length === 0 ? 'empty' : 'too short'}: use at least ${MIN_TOKEN_LENGTH} characters, e.g. openssl rand -hex 32`);
  if (token.length > 4096 || !/^[\x21-\x7e]+$/.test(token))
    throw new BuilderError('usage', `${what} must be at most 4096 printable ASCII characters without spaces, e.g. openssl rand -hex 32`);
}

/** Whether a file can be read by users other than its owner (a token file should not be). */
export async function readableByOthers(path: string): Promise<boolean> {
  const st = await fs.stat(path).catch(() => null);
  return st !== null && (st.mode & 0o077) !== 0;
}
