import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { alive, client, clientJson, pidFrom, scheduleJob, spawnProgram, startServer, startWorker, stopChild, storedResults, tempDir, waitFor, writeScript } from './harness.js';

const names = (info: any, platform: string): string[] => info.queues.find((q: any) => q.platform === platform)?.jobs.map((j: any) => j.name) ?? [];

test('pause holds a platform without losing its queue, across a restart; resume releases it', async () => {
  const dir = tempDir();
  let server = await startServer(dir);
  await scheduleJob(server, 'held', 'kappa-1', '#!/bin/sh\necho ran\n', ['--period', 'daily']);
  assert.match((await clientJson(server.remote, ['pause', 'kappa-1'])).message, /paused kappa-1 \(1 queued job waits/);
  await stopChild(server.child);
  server = await startServer(dir, [], 0);
  const w = startWorker(server.remote, 'kappa-1', ['--loop']);
  await waitFor('the worker to wait', async () => (await clientJson(server.remote, ['info'])).workers.length === 1);
  let info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.paused, ['kappa-1'], 'still paused after the restart');
  assert.deepEqual(names(info, 'kappa-1'), ['held']);
  assert.equal(storedResults(dir, 'held').length, 0);
  await clientJson(server.remote, ['resume', 'kappa-1']);
  await waitFor('the held job to run', () => storedResults(dir, 'held').length === 1);
  info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.paused, []);
  const again = await client(server.remote, ['resume', 'kappa-1']);
  assert.equal(again.code, 0, 'resume is idempotent');
  assert.match(again.out, /kappa-1 is not paused: nothing to do/);
  w.child.kill('SIGTERM');
});

test('drop-platform removes its queue and schedule, tells waiting workers, refuses new jobs; undrop accepts again', async () => {
  const server = await startServer(tempDir());
  await scheduleJob(server, 'doomed', 'lambda-1', '#!/bin/sh\necho x\n', ['--period', 'never']);
  await scheduleJob(server, 'queued', 'lambda-1', '#!/bin/sh\necho x\n', ['--period', 'daily']);
  const w = startWorker(server.remote, 'lambda-2');
  await scheduleJob(server, 'other', 'lambda-3', '#!/bin/sh\n', ['--period', 'never']);
  const waiting = startWorker(server.remote, 'lambda-3', ['--loop']);
  await waitFor('the workers to connect', async () => (await clientJson(server.remote, ['info'])).workers.length === 2);
  const r = await clientJson(server.remote, ['drop-platform', 'lambda-1']);
  assert.match(r.message, /removed 1 queued job and 2 schedule entries/);
  let info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.dropped, ['lambda-1']);
  assert.deepEqual(names(info, 'lambda-1'), []);
  assert.deepEqual(info.schedule.map((e: any) => e.name), ['other']);
  const script = writeScript(tempDir(), 's.sh', '#!/bin/sh\n');
  const refused = await client(server.remote, ['schedule', 'new', 'lambda-1', script]);
  assert.equal(refused.code, 123);
  assert.match(refused.err, /platform lambda-1 is dropped: undrop-platform lambda-1 first/);
  const lateWorker = startWorker(server.remote, 'lambda-1');
  assert.notEqual((await lateWorker.exited).code, 0);
  assert.match(lateWorker.err(), /platform lambda-1 is dropped on this server/);

  await clientJson(server.remote, ['drop-platform', 'lambda-3']);
  const { code } = await waiting.exited;
  assert.equal(code, 123, 'a waiting worker of a dropped platform exits');
  assert.match(waiting.err(), /platform lambda-3 was dropped on this server/);
  await clientJson(server.remote, ['undrop-platform', 'lambda-1']);
  info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.dropped, ['lambda-3']);
  await scheduleJob(server, 'new', 'lambda-1', '#!/bin/sh\n');
  const unknown = await client(server.remote, ['drop-platform', 'never-seen-1']);
  assert.equal(unknown.code, 123);
  assert.match(unknown.err, /no platform named never-seen-1 is known/);
  w.child.kill('SIGTERM');
});

test('cancel kills the run on its worker; it is recorded as cancelled and not requeued', async () => {
  const dir = tempDir();
  const server = await startServer(dir);
  const pidFile = join(dir, 'bg.pid');
  await scheduleJob(server, 'endless', 'mu-1', `#!/bin/sh\nsleep 300 &\necho $! > ${pidFile}\necho started\nwait\n`, ['--period', 'daily']);
  startWorker(server.remote, 'mu-1');
  const run = await waitFor('the run', async () => (await clientJson(server.remote, ['info'])).running[0]);
  const bg = await pidFrom(pidFile);
  const r = await clientJson(server.remote, ['cancel', run.run_id]);
  assert.match(r.message, /cancelling endless/);
  await waitFor('the cancelled run to be stored', () => storedResults(dir, 'endless').length === 1);
  const stored = storedResults(dir, 'endless')[0]!.result;
  assert.equal(stored.outcome.kind, 'failed');
  assert.match(stored.outcome.message, /cancelled by an operator/);
  assert.deepEqual(names(await clientJson(server.remote, ['info']), 'mu-1'), [], 'not requeued');
  await waitFor('the process group to be gone', () => !alive(bg));
  const twice = await client(server.remote, ['cancel', run.run_id]);
  assert.equal(twice.code, 123);
  assert.match(twice.err, /has already finished/);
});

test('results lists finished runs; fetch downloads their artifacts; observe-latest follows the newest run', async () => {
  const server = await startServer(tempDir());
  await scheduleJob(server, 'art', 'nu-1', '#!/bin/sh\necho building\nmkdir -p bin\nprintf abc > bin/tool\nhead -c 200000 /dev/urandom > blob\n', ['--period', 'daily']);
  startWorker(server.remote, 'nu-1');
  await waitFor('the run', () => storedResults(server.dir, 'art').length === 1);
  const list = await clientJson(server.remote, ['results', 'art']);
  assert.equal(list.length, 1);
  assert.equal(list[0].artifacts, 2);
  assert.equal(list[0].size, 200003);
  assert.deepEqual(list[0].outcome, { kind: 'exited', code: 0 });
  const human = await client(server.remote, ['results']);
  assert.match(human.out, /art {2}nu-1 {2}exited 0 {2}[\d.]+ s {2}2 files 195\.3 KiB/);
  const out = tempDir();
  const f = await clientJson(server.remote, ['fetch', list[0].run_id, out]);
  assert.equal(f.artifacts.length, 2);
  assert.equal(readFileSync(join(out, 'bin', 'tool'), 'utf8'), 'abc');
  const stored = readFileSync(join(storedResults(server.dir, 'art')[0]!.dir, 'artifacts', 'blob'));
  assert.ok(readFileSync(join(out, 'blob')).equals(stored));
  const latest = spawnProgram('builder-client', ['--remote', server.remote, 'observe-latest', '--job', 'art']);
  assert.equal((await latest.exited).code, 0);
  assert.equal(latest.out(), 'building\n');
  assert.match(latest.err(), new RegExp(`${list[0].run_id}: art on nu-1`));
  const none = await client(server.remote, ['observe-latest', '--platform', 'xi-1']);
  assert.equal(none.code, 123);
  assert.match(none.err, /no run of platform xi-1 is running or stored/);
  const unknown = await client(server.remote, ['results', 'nosuch']);
  assert.equal(unknown.code, 123);
  const noRun = await client(server.remote, ['fetch', '00000000-0000-4000-8000-000000000000', out]);
  assert.equal(noRun.code, 123);
  assert.match(noRun.err, /no stored run with id/);
});

test('reschedule moves the next run; a bad time is refused', async () => {
  const server = await startServer(tempDir());
  await scheduleJob(server, 'later', 'omicron-1', '#!/bin/sh\n', ['--period', 'never']);
  const r = await clientJson(server.remote, ['reschedule', 'later', '2030-01-02T03:04:05Z', '--period', 'weekly']);
  assert.match(r.message, /later next runs at 2030-01-02T03:04:05.000Z \(then weekly\)/);
  const info = await clientJson(server.remote, ['info']);
  assert.equal(info.schedule[0].next, '2030-01-02T03:04:05.000Z');
  assert.equal(info.schedule[0].period, 'weekly');
  const bad = await client(server.remote, ['reschedule', 'later', 'tomorrow']);
  assert.equal(bad.code, 124);
  assert.match(bad.err, /bad time "tomorrow": expected RFC 3339/);
  const unknown = await client(server.remote, ['reschedule', 'nosuch', '2030-01-02T03:04:05Z']);
  assert.equal(unknown.code, 123);
  assert.match(unknown.err, /no job named nosuch is scheduled/);
});

test('schedule --from adds many jobs over one connection, all or nothing', async () => {
  const server = await startServer(tempDir());
  const dir = tempDir();
  const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ name: `pkg-${i}`, platform: 'pi-1', script: `#!/bin/sh\necho ${i}\n`, period: 'daily' }));
  writeFileSync(join(dir, 'jobs.ndjson'), lines.join('\n') + '\n');
  const r = await clientJson(server.remote, ['schedule', '--from', join(dir, 'jobs.ndjson')]);
  assert.equal(r.message, 'scheduled 300 jobs');
  // --all: info lists the first 100 jobs of a queue by default.
  let info = await clientJson(server.remote, ['info', '--all']);
  assert.equal(info.schedule.length, 300);
  assert.equal(names(info, 'pi-1').length, 300);

  // One duplicate in a new batch: nothing of it is scheduled.
  writeFileSync(join(dir, 'more.ndjson'), [JSON.stringify({ name: 'fresh-1', platform: 'pi-1', script: 'x' }), JSON.stringify({ name: 'pkg-7', platform: 'pi-1', script: 'x' })].join('\n'));
  const dup = await client(server.remote, ['schedule', '--from', join(dir, 'more.ndjson')]);
  assert.equal(dup.code, 123);
  assert.match(dup.err, /job pkg-7 is already scheduled .*nothing was scheduled/);
  writeFileSync(join(dir, 'bad.ndjson'), '{"name":"ok-1","platform":"pi-1","script":"x"}\n{"name":"bad name","platform":"pi-1","script":"x"}\n');
  const bad = await client(server.remote, ['schedule', '--from', join(dir, 'bad.ndjson')]);
  assert.equal(bad.code, 123);
  assert.match(bad.err, /bad\.ndjson:2: bad job name "bad name"/);
  info = await clientJson(server.remote, ['info']);
  assert.equal(info.schedule.length, 300);

  const scripts = join(dir, 'scripts');
  mkdirSync(scripts);
  writeFileSync(join(scripts, 'alpha.sh'), '#!/bin/sh\necho a\n');
  writeFileSync(join(scripts, 'beta'), '#!/bin/sh\necho b\n');
  const fromDir = await clientJson(server.remote, ['schedule', '--from', scripts, '--platform', 'rho-1', '--period', 'never']);
  assert.equal(fromDir.message, 'scheduled 2 jobs');
  info = await clientJson(server.remote, ['info']);
  assert.ok(info.schedule.some((e: any) => e.name === 'alpha' && e.platform === 'rho-1'));
});

test('a job whose previous run is still running is not queued again; --keep removes old results', async () => {
  const server = await startServer(tempDir(), ['--keep', '2']);
  // why a release file, not a sleep: the run must still be going when it is due again, however loaded the machine.
  const release = join(tempDir(), 'release');
  await scheduleJob(server, 'slow', 'sigma-1', `#!/bin/sh\nwhile [ ! -e ${release} ]; do sleep 0.05; done\n`, ['--period', 'daily']);
  startWorker(server.remote, 'sigma-1', ['--loop']);
  await waitFor('the run', async () => (await clientJson(server.remote, ['info'])).running.length === 1);
  await clientJson(server.remote, ['reschedule', 'slow', new Date(Date.now() - 1000).toISOString()]);
  const info = await clientJson(server.remote, ['info']);
  assert.deepEqual(names(info, 'sigma-1'), [], 'due again while running: skipped');
  assert.match(server.err(), /slow is due but its previous run on sigma-1 is still running: skipped/);
  writeFileSync(release, '');
  for (let i = 0; i < 3; i++) await clientJson(server.remote, ['execute', 'slow']);
  await waitFor('runs to finish', async () => {
    const i2 = await clientJson(server.remote, ['info']);
    return i2.running.length === 0 && names(i2, 'sigma-1').length === 0 && storedResults(server.dir, 'slow').length >= 2;
  }, 60000);
  await waitFor('only the newest 2 kept', () => storedResults(server.dir, 'slow').length === 2);
});
