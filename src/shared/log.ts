// Log lines on stderr: `level [run-id] message`. Under journald (JOURNAL_STREAM
// set by systemd) each line starts with a syslog priority prefix (<3> error,
// <4> warning, <6> info, <7> debug) so `journalctl -p warning` finds them, and
// carries no timestamp (the journal has one); elsewhere it starts with an ISO
// time. Colour only on a TTY without NO_COLOR.
import { fstatSync } from 'node:fs';
import kleur from 'kleur';
import { oneLine } from './errors.js';
import { maskSecrets } from './secrets.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';

const colourOn = process.stderr.isTTY === true && !process.env.NO_COLOR;
kleur.enabled = colourOn;
const paint: Record<Level, (s: string) => string> = {
  debug: (s) => kleur.gray(s),
  info: (s) => kleur.blue(s),
  warn: (s) => kleur.yellow(s),
  error: (s) => kleur.red(s),
};
/** syslog priorities, as sd-daemon(3) prefixes read by journald. */
const priority: Record<Level, number> = { error: 3, warn: 4, info: 6, debug: 7 };
let debugOn = process.env.BUILDER_DEBUG === '1';

/**
 * Whether stderr is the journal: systemd sets JOURNAL_STREAM to the device and
 * inode of the stream it connected; a redirected stderr (a file, a pipe) does
 * not match, and then lines get timestamps.
 */
function stderrIsJournal(): boolean {
  const stream = process.env.JOURNAL_STREAM;
  if (!stream) return false;
  const [dev, ino] = stream.split(':');
  try {
    const st = fstatSync(2);
    return String(st.dev) === dev && String(st.ino) === ino;
  } catch {
    return false;
  }
}
const toJournal = stderrIsJournal();

/** Turns debug lines on (--verbose). */
export function setVerbose(on: boolean): void {
  debugOn = on;
}

/** The line for one log entry, without the newline (exported for tests of the format). */
export function formatLogLine(level: Level, message: string, runId: string | undefined, journal: boolean, now: Date): string {
  const tag = runId ? ` [${runId}]` : '';
  const text = `${paint[level](level)}${tag} ${oneLine(maskSecrets(message), 8192)}`;
  return journal ? `<${priority[level]}>${text}` : `${now.toISOString()} ${text}`;
}

/** Writes one log line to stderr (see the top of this file for its form). */
export function log(level: Level, message: string, runId?: string): void {
  if (level === 'debug' && !debugOn) return;
  process.stderr.write(`${formatLogLine(level, message, runId, toJournal, new Date())}\n`);
}

/** The priority prefix for a line written to stderr outside log() (a program's last error line): `<3>` under journald, else nothing. */
export function journalPrefix(level: Level): string {
  return toJournal ? `<${priority[level]}>` : '';
}
