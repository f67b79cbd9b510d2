import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { client, clientJson, ROOT, startServer, startWorker, storedConsole, storedResults, tempDir, waitFor } from './harness.js';

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

test('the shipped templates build with orb as the original does: orb installed from the build site, then orb build with its flags', async () => {
  const server = await startServer(tempDir(), ['--config-dir', join(ROOT, 'templates')]);
  const r = await clientJson(server.remote, ['orb-build', 'solo5-hvt', 'solo5-elftool', '--period', 'daily']);
  assert.match(r.message, /debian-12, freebsd-14, ubuntu-24\.04/);
  for (const platform of ['debian-12', 'ubuntu-24.04', 'freebsd-14']) {
    const dir = join(server.dir, 'queue', platform);
    const [file] = readdirSync(dir);
    const script = JSON.parse(readFileSync(join(dir, file!), 'utf8')).job.script as string;
    assert.ok(!script.includes('%%'), `${platform}: every placeholder replaced`);
    const orb = /^orb build (.*\\\n.*)$/m.exec(script)?.[1]?.replace(/\\\n\s*/, '') ?? '';
    for (const flag of ['--solver-timeout=600', '--switch-name=/tmp/myswitch', '--date="$BUILD_DATE"', '--out=.', '--repos="$REPOS"']) {
      assert.ok(orb.includes(flag), `${platform}: orb build ${flag} in: ${orb}`);
    }
    assert.match(orb, / solo5-elftool$/, `${platform}: the opam package is the last argument`);
    assert.match(script, /^BUILD_DATE=\d+$/m);
    assert.match(script, /^REPOS=default:https:\/\/opam\.ocaml\.org,/m);
    const debianish = platform !== 'freebsd-14';
    assert.equal(orb.includes('--disable-sandboxing'), debianish, `${platform}: --disable-sandboxing only in containers`);
    assert.equal(/apt-get install .*dh-exec/.test(script), debianish, `${platform}: dh-exec`);
    const pkg = debianish ? 'orb.deb' : 'orb.pkg';
    assert.ok(script.includes(`"$ORB_SITE/job/orb/build/latest/f/bin/${pkg}?platform=${platform}"`), `${platform}: orb from the build site`);
  }
});
