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
