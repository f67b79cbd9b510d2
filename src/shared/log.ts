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
let debugOn = process.env.BUILDER_DEBUG === '1';

/** Turns debug lines on (--verbose). */
export function setVerbose(on: boolean): void {
  debugOn = on;
}

/** Writes one log line to stderr: `level [run-id] message`; colour only on a TTY without NO_COLOR. */
export function log(level: Level, message: string, runId?: string): void {
  if (level === 'debug' && !debugOn) return;
  const tag = runId ? ` [${runId}]` : '';
  process.stderr.write(`${paint[level](level)}${tag} ${oneLine(maskSecrets(message), 8192)}\n`);
}
