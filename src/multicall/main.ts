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
import { EXIT } from '../shared/errors.js';
import { versionLine } from '../shared/version.js';
import { pickProgram } from './pick-program.js';

/** Program name -> loader of its main module, which runs the program when loaded. */
const programs: Record<string, () => Promise<unknown>> = {
  'builder-server': () => import('../server/main.js'),
  'builder-worker': () => import('../worker/main.js'),
  'builder-client': () => import('../client/main.js'),
};

const usage = `usage: builder {server|worker|client} [ARGS...]
  or run it as builder-server, builder-worker or builder-client (a link or copy
  of this file under that name); see that program's --help.
exit codes: 0 ok, 123 failure, 124 bad usage, 125 internal error`;

function run(): void {
  const picked = pickProgram(Object.keys(programs), process.argv0, process.argv.slice(2));
  if (picked === undefined) {
    const arg = process.argv[2];
    if (arg === '--version') {
      console.log(versionLine('builder'));
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
