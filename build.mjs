// Builds builder's programs. Plain Node, one function per output.
//   node build.mjs            bundles (dist/*.cjs) and the single-executable binaries
//                             dist/builder-{server,worker,client} (see build-sea.mjs)
//   node build.mjs --no-sea   bundles only (what npm start and npm test need)
//   --outdir DIR              write there instead of dist/ (tests build beside, never
//                             over, the dist/ that other tests are running)
// SEA options, passed on to build-sea.mjs: --node PATH, --no-code-cache, --no-strip, --hello
import { build } from 'esbuild';
import { readFileSync, mkdirSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const args = process.argv.slice(2);
const outDir = args.includes('--outdir') ? args[args.indexOf('--outdir') + 1] : 'dist';

/** The programs: output name -> entry point. */
export const programs = {
  'builder-server': 'src/server/main.ts',
  'builder-worker': 'src/worker/main.ts',
  'builder-client': 'src/client/main.ts',
  quickstart: 'src/quickstart/main.ts',
};

/** The multi-call entry the binaries are made from: all three programs, one runs per start. */
export const multicall = { builder: 'src/multicall/main.ts' };

/** Bundles one program into dist/<name>.cjs (CommonJS: a Node SEA runs one CJS file). */
async function bundle(name, entry) {
  await build({
    entryPoints: [entry],
    outfile: `${outDir}/${name}.cjs`,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    legalComments: 'none',
    define: { __BUILDER_VERSION__: JSON.stringify(pkg.version) },
    logLevel: 'warning',
  });
}

if (!outDir) throw new Error('build.mjs: --outdir needs a directory');
mkdirSync(outDir, { recursive: true });
await Promise.all(Object.entries(programs).map(([name, entry]) => bundle(name, entry)));
if (!args.includes('--no-sea')) {
  await bundle('builder', multicall.builder);
  // why dynamic: --no-sea (every test run) never loads postject's 5 MB of wasm.
  const { buildSea } = await import('./build-sea.mjs');
  await buildSea(args, outDir);
}
