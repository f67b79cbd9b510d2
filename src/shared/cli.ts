import { basename } from 'node:path';
import { BuilderError, EXIT, reason } from './errors.js';
import { maskSecrets } from './secrets.js';
import { journalPrefix } from './log.js';

/** Throws the error for bad command-line usage (exit 124). */
export function usageError(message: string): never {
  throw new BuilderError('usage', message);
}

/** Parses an integer flag within bounds, or fails with a usage error naming the flag. */
export function intFlag(flag: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'number' ? value : Number(String(value));
  if (!Number.isInteger(n) || n < min || n > max) usageError(`${flag} must be a whole number from ${min} to ${max}, not "${String(value)}"`);
  return n;
}

/** How a program treats a single-value flag given twice: refuse it, or let the last one count. */
export type RepeatRule = 'error' | 'last';

/** What prepareArgv needs to know about a program's flags. */
export interface FlagSpec {
  /** Flags that take a value (long names). */
  values: string[];
  /** Value flags that may be given many times (each value kept, e.g. --http-host). */
  lists?: string[];
  /** One-letter (or other) aliases: alias -> long name. */
  alias?: Record<string, string>;
  repeat?: RepeatRule;
}

/**
 * Prepares argv for mri and checks the value flags: the token after a value
 * flag is its value unless it looks like a flag (`--keep -1` is a value for
 * --keep to refuse, not the flag `-1`); a value flag without one is a
 * usage error naming it; a value flag given twice, also through its alias
 * (`--remote A -r B`), is a usage error naming it under the 'error' rule,
 * and under 'last' the last one counts (mri would make a comma list, or
 * silently keep the first). Returns the argv for mri, values as `--flag=V`.
 */
export function prepareArgv(program: string, argv: string[], spec: FlagSpec): string[] {
  const alias = spec.alias ?? {};
  const out: string[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const m = /^--?([^=]+)(=[^]*)?$/.exec(a);
    const name = m ? (alias[m[1]!] ?? m[1]!) : undefined;
    if (!m || name === undefined || !spec.values.includes(name)) {
      out.push(a);
      continue;
    }
    const flag = `--${name}`;
    let value: string | undefined = m[2]?.slice(1);
    if (value === undefined) {
      const next = argv[i + 1];
      // why not every dash: `--keep -1` and `--engine-flags "--memory 8g"` are values, `--json` is not.
      if (next !== undefined && next !== '--' && (!next.startsWith('-') || /^-\d/.test(next) || /\s/.test(next))) value = argv[++i];
    }
    if (value === undefined || value === '') usageError(`${flag} needs a value (see ${program} --help)`);
    const at = spec.lists?.includes(name) ? undefined : seen.get(name);
    if (at !== undefined) {
      if ((spec.repeat ?? 'error') === 'error') usageError(`${flag} is given twice ("${out[at]!.slice(flag.length + 1)}", then "${value}"): give it once`);
      out.splice(at, 1);
      for (const [k, v] of seen) if (v > at) seen.set(k, v - 1);
    }
    seen.set(name, out.length);
    out.push(`${flag}=${value}`);
  }
  return out;
}

/** Turns a boolean flag given twice (mri: `[true, true]`) back into one value. */
export function flattenBooleans(args: Record<string, unknown>, booleans: string[]): void {
  for (const b of booleans) if (Array.isArray(args[b])) args[b] = (args[b] as unknown[]).at(-1);
}

/** Rejects flags that are not in `known` (mri accepts anything). */
export function checkFlags(program: string, args: Record<string, unknown>, known: string[]): void {
  for (const k of Object.keys(args)) {
    if (k !== '_' && !known.includes(k)) usageError(`unknown option ${k.length === 1 ? '-' : '--'}${k} (see ${program} --help)`);
  }
}

/**
 * Runs a program's main: expected failures print one line and exit 123 (124
 * for bad usage); anything else is an internal error (125), with its stack
 * only under --verbose.
 */
export async function runMain(main: (argv: string[]) => Promise<void | number>): Promise<void> {
  const program = basename(process.argv[1] ?? 'builder').replace(/\.c?js$/, '');
  const argv = process.argv.slice(2);
  try {
    const code = await main(argv);
    process.exitCode = typeof code === 'number' ? code : EXIT.ok;
  } catch (e) {
    if (e instanceof BuilderError) {
      process.stderr.write(maskSecrets(`${journalPrefix('error')}${program}: ${e.message}\n`));
      process.exitCode = e.code === 'usage' ? EXIT.usage : EXIT.failure;
    } else {
      process.stderr.write(maskSecrets(`${journalPrefix('error')}${program}: internal error: ${reason(e)}\n`));
      if (argv.includes('--verbose') && e instanceof Error) process.stderr.write(maskSecrets(`${e.stack}\n`));
      process.exitCode = EXIT.internal;
    }
  }
}
