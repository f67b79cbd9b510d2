import kleur from 'kleur';
import type { ServerMessage } from '../protocol/messages.js';

kleur.enabled = process.stdout.isTTY === true && !process.env.NO_COLOR;

/** Colours for human output; plain on a pipe or with NO_COLOR. */
export const paint = kleur;

/** Prints a value as one JSON document (for --json). */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Prints a success message: JSON `{ok:true,message,warnings?}`, or the plain line with each warning on stderr. */
export function printSuccess(json: boolean, message: string, warnings: string[] = []): void {
  if (json) printJson({ ok: true, message, ...(warnings.length ? { warnings } : {}) });
  else console.log(message);
  if (!json) for (const w of warnings) process.stderr.write(`builder-client: warning: ${w}\n`);
}

/** Prints a command's `success` reply (message and warnings), or `fallback` for any other reply. */
export function printReply(json: boolean, r: ServerMessage, fallback: string): void {
  if (r.type === 'success') printSuccess(json, r.message, r.warnings);
  else printSuccess(json, fallback);
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** Lays out rows as columns padded to their widest cell (colours do not count), each line starting with `indent`. */
export function table(rows: string[][], indent = '  '): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.replace(ANSI, '').length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - c.replace(ANSI, '').length))).join('  ').trimEnd());
}

/** `1 file`, `2 files`: a count with its noun in the right number. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
