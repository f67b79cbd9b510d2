// builder: one executable that is builder-server, builder-worker or
// builder-client, chosen by the name it was started under (like busybox).
//
// Why: a Node single-executable application carries the whole Node runtime
// (~85 MB), so three binaries would triple every package. One binary installed
// or hard-linked under three names keeps each program a standalone file:
// `cp /usr/bin/builder-worker <jail>/usr/local/bin/` copies a working worker.
//
// Each program's main module does its work when it is loaded, so this file
// loads exactly one of them. esbuild turns the import() calls below into
// lazily initialised modules inside the one CommonJS bundle: nothing of the
// other two programs runs, and no real dynamic import is left (a SEA with a
// code cache cannot do one).
import { basename } from 'node:path';
import { EXIT } from '../shared/errors.js';
import { PROTOCOL_VERSION, VERSION } from '../shared/version.js';

/** Program name -> loader of its main module, which runs the program when loaded. */
const programs: Record<string, () => Promise<unknown>> = {
  'builder-server': () => import('../server/main.js'),
  'builder-worker': () => import('../worker/main.js'),
  'builder-client': () => import('../client/main.js'),
};

/**
 * The program to run: the one named by how we were started
 * (`/usr/bin/builder-worker`, `builder-worker-0.1.0`), else the one named by
 * the first argument (`builder worker ...`, `builder builder-worker ...`), in
 * which case that argument is not the program's own.
 */
export function pickProgram(argv0: string, args: readonly string[]): { name: string; fromArgument: boolean } | undefined {
  const called = basename(argv0).replace(/\.exe$/i, '');
  for (const name of Object.keys(programs)) {
    if (called === name || called.startsWith(`${name}-`) || called.startsWith(`${name}.`)) return { name, fromArgument: false };
  }
  const first = args[0];
  if (first === undefined) return undefined;
  const name = first.startsWith('builder-') ? first : `builder-${first}`;
  return name in programs ? { name, fromArgument: true } : undefined;
}

const usage = `usage: builder {server|worker|client} [ARGS...]
  or run it as builder-server, builder-worker or builder-client (a link or copy
  of this file under that name); see that program's --help.
exit codes: 0 ok, 123 failure, 124 bad usage, 125 internal error`;

function run(): void {
  const picked = pickProgram(process.argv0, process.argv.slice(2));
  if (picked === undefined) {
    const arg = process.argv[2];
    if (arg === '--version') {
      console.log(`builder ${VERSION} (protocol ${PROTOCOL_VERSION})`);
      return;
    }
    if (arg === '--help' || arg === '-h') {
      console.log(usage);
      return;
    }
    console.error(arg === undefined ? usage : `builder: unknown program '${arg}'\n${usage}`);
    process.exitCode = EXIT.usage;
    return;
  }
  // why: the program reads its arguments from process.argv.slice(2), and
  // names itself in messages after process.argv[1].
  if (picked.fromArgument) process.argv.splice(1, 2, picked.name);
  programs[picked.name]!().catch((err: unknown) => {
    console.error(`${picked.name}: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = EXIT.internal;
  });
}

run();
