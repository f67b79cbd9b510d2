// The single-executable binaries: built once here by build.mjs into a temp
// dir, each name runs its own program with no Node.js on the PATH, one file
// copied anywhere still works, and a full round runs with them alone.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  assertOk, buildBinaries, envWithoutNode, pathWithoutNode, pkgVersion, run, runRound, tempDir, type Programs,
} from './package-tools.js';

const dir = tempDir('sea');
const out = join(dir, 'dist');
const programs: Programs = {
  server: join(out, 'builder-server'),
  worker: join(out, 'builder-worker'),
  client: join(out, 'builder-client'),
};
let env: NodeJS.ProcessEnv;

before(async () => {
  await buildBinaries(out, ['--hello']);
  env = envWithoutNode(pathWithoutNode(dir), dir);
}, { timeout: 300_000 });

after(() => rmSync(dir, { recursive: true, force: true }));

test('each program name is a standalone binary that prints its version', async () => {
  for (const name of ['builder-server', 'builder-worker', 'builder-client']) {
    const r = await run(join(out, name), ['--version'], { env });
    assertOk(r, `${name} --version`);
    assert.match(r.stdout, new RegExp(`^${name} ${pkgVersion.replace(/\./g, '\\.')} \\(protocol \\d+, Node v24\\.\\d+\\.\\d+\\)\\n$`));
  }
});

test('the three names are one file on disk', () => {
  const ino = (p: string) => statSync(p).ino;
  assert.equal(ino(programs.worker), ino(join(out, 'builder')));
  assert.equal(ino(programs.server), ino(programs.worker));
  assert.equal(ino(programs.client), ino(programs.worker));
});

test('a copy of builder-worker alone elsewhere runs (as dropped into a jail)', async () => {
  const copy = join(dir, 'jail', 'builder-worker');
  mkdirSync(join(dir, 'jail'), { recursive: true });
  copyFileSync(programs.worker, copy);
  const r = await run(copy, ['--version'], { env });
  assertOk(r, 'copied builder-worker --version');
  assert.match(r.stdout, /^builder-worker /);
});

test('the multi-call binary takes the program as its first argument', async () => {
  const r = await run(join(out, 'builder'), ['client', '--version'], { env });
  assertOk(r, 'builder client --version');
  assert.match(r.stdout, /^builder-client /);
  const bad = await run(join(out, 'builder'), ['bogus'], { env });
  assert.equal(bad.code, 124, 'an unknown program is bad usage');
  assert.match(bad.stderr, /unknown program 'bogus'/);
});

test('schedule, execute, one worker: the result is stored, with no node on the PATH', async () => {
  await runRound(programs, join(dir, 'round'), env);
});

test('start-up time of builder-client --version against a bare SEA hello-world', async (t) => {
  const median = async (cmd: string, args: string[]) => {
    const times: number[] = [];
    for (let i = 0; i < 9; i++) {
      const start = process.hrtime.bigint();
      assertOk(await run(cmd, args, { env }), cmd);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return times.sort((a, b) => a - b)[4]!;
  };
  const client = await median(programs.client, ['--version']);
  const hello = await median(join(out, 'sea-hello'), []);
  const mb = (p: string) => (statSync(p).size / 1e6).toFixed(1);
  t.diagnostic(`builder ${mb(join(out, 'builder'))} MB, sea-hello ${mb(join(out, 'sea-hello'))} MB`);
  t.diagnostic(`median start-up: builder-client --version ${client.toFixed(0)} ms, sea-hello ${hello.toFixed(0)} ms`);
  // Only a sanity bound: timings on a shared CI machine are not for asserting.
  assert.ok(client < 5_000, `builder-client --version took ${client} ms`);
});
