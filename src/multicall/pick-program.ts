import { basename } from 'node:path';

/**
 * The program to run: the one named by how we were started
 * (`/usr/bin/builder-worker`, `builder-worker-0.1.0`), else the one named by
 * the first argument (`builder worker ...`, `builder builder-worker ...`), in
 * which case that argument is not the program's own.
 */
export function pickProgram(names: readonly string[], argv0: string, args: readonly string[]): { name: string; fromArgument: boolean } | undefined {
  const called = basename(argv0).replace(/\.exe$/i, '');
  for (const name of names) {
    if (called === name || called.startsWith(`${name}-`) || called.startsWith(`${name}.`)) return { name, fromArgument: false };
  }
  const first = args[0];
  if (first === undefined) return undefined;
  const name = first.startsWith('builder-') ? first : `builder-${first}`;
  return names.includes(name) ? { name, fromArgument: true } : undefined;
}
