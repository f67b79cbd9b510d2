import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { client, clientJson, startServer, startWorker, storedConsole, storedResults, tempDir, waitFor } from './harness.js';

test('a template job reaches two platforms whose workers connect after it was scheduled', async () => {
  const config = tempDir();
  for (const p of ['alpha-7', 'beta-7']) writeFileSync(join(config, `orb-build.template.${p}`), '#!/bin/sh\necho "building %%OPAM_PACKAGE%% on %%PLATFORM%%"\n');
  const server = await startServer(tempDir(), ['--config-dir', config]);
  const r = await clientJson(server.remote, ['orb-build', 'hello-orb', 'hello', '--period', 'daily']);
  assert.match(r.message, /for alpha-7, beta-7/);
  const info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.queues.map((q: { platform: string }) => q.platform), ['alpha-7', 'beta-7'], 'queued for both before any worker exists');
  assert.equal(info.schedule[0].template, 'orb-build hello');
  startWorker(server.remote, 'alpha-7');
  startWorker(server.remote, 'beta-7');
  await waitFor('both runs stored', () => storedResults(server.dir, 'hello-orb').length === 2);
  const lines = storedResults(server.dir, 'hello-orb').map((s) => storedConsole(s.dir)[0]).sort();
  assert.deepEqual(lines, ['building hello on alpha-7', 'building hello on beta-7']);
});

test('a platform without a template is reported in info, and the job stays queued for the platforms that have one', async () => {
  const config = tempDir();
  writeFileSync(join(config, 'orb-build.template.alpha-8'), '#!/bin/sh\necho ok\n');
  const server = await startServer(tempDir(), ['--config-dir', config]);
  const w = startWorker(server.remote, 'gamma-8', ['--loop']);
  await waitFor('the gamma worker to connect', async () => (await clientJson(server.remote, ['info'])).workers.length === 1);
  await clientJson(server.remote, ['orb-build', 'pkg-job', 'somepkg', '--period', 'daily']);
  const info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.queues.find((q: { platform: string }) => q.platform === 'alpha-8').jobs.map((j: { name: string }) => j.name), ['pkg-job']);
  assert.equal(info.problems.length, 1);
  assert.match(info.problems[0], /template job pkg-job: cannot read .*orb-build\.template\.gamma-8 for platform gamma-8: no such file or directory/);
  assert.match(server.err(), /orb-build\.template\.gamma-8/);
  const human = await client(server.remote, ['info']);
  assert.match(human.out, /problems \(1\)/);
  // Adding the template fixes it on the next run-now.
  writeFileSync(join(config, 'orb-build.template.gamma-8'), '#!/bin/sh\necho gamma\n');
  await clientJson(server.remote, ['execute', 'pkg-job', '--platform', 'gamma-8']);
  await waitFor('the gamma run', () => storedResults(server.dir, 'pkg-job').length === 1);
  assert.deepEqual((await clientJson(server.remote, ['info'])).problems, []);
  w.child.kill('SIGTERM');
});

test('orb-build for a platform without a template is refused with the file it needs', async () => {
  const config = tempDir();
  mkdirSync(config, { recursive: true });
  const server = await startServer(tempDir(), ['--config-dir', config]);
  const r = await client(server.remote, ['orb-build', 'x', 'pkg', '--platform', 'nowhere-1']);
  assert.equal(r.code, 123);
  assert.match(r.err, /no template orb-build\.template\.nowhere-1 in /);
});
