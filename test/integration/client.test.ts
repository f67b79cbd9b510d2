import assert from 'node:assert/strict';
import { test } from 'node:test';
import { client, clientJson, scheduleJob, startServer, tempDir, writeScript } from './harness.js';

test('client errors: one line naming the problem and exit 123 (failure) or 124 (usage)', async () => {
  const server = await startServer(tempDir());
  const script = writeScript(tempDir(), 'job.sh', '#!/bin/sh\necho hi\n');

  const unreachable = await client('127.0.0.1:1', ['info']);
  assert.equal(unreachable.code, 123);
  assert.equal(unreachable.err, 'builder-client: cannot connect to 127.0.0.1:1: connection refused (is builder-server running? see --remote / BUILDER_REMOTE)\n');

  const unknown = await client(server.remote, ['execute', 'nosuchjob']);
  assert.equal(unknown.code, 123);
  assert.match(unknown.err, /^builder-client: no job named nosuchjob is scheduled/);

  await scheduleJob(server, 'dup', 'eta-1', '#!/bin/sh\n');
  const dup = await client(server.remote, ['schedule', 'dup', 'eta-1', script]);
  assert.equal(dup.code, 123);
  assert.match(dup.err, /job dup is already scheduled/);

  const badPeriod = await client(server.remote, ['schedule', 'x', 'eta-1', script, '--period', 'monthly']);
  assert.equal(badPeriod.code, 124);
  assert.match(badPeriod.err, /bad --period "monthly": use hourly, daily, weekly, never/);

  const badName = await client(server.remote, ['schedule', '../etc', 'eta-1', script]);
  assert.equal(badName.code, 124);
  assert.match(badName.err, /bad job name/);

  const missing = await client(server.remote, ['schedule', 'y', 'eta-1', '/no/such/script']);
  assert.equal(missing.code, 123);
  assert.match(missing.err, /cannot read script \/no\/such\/script: no such file or directory/);

  const wrongPlatform = await client(server.remote, ['execute', 'dup', '--platform', 'other-1']);
  assert.equal(wrongPlatform.code, 123);
  assert.match(wrongPlatform.err, /job dup runs on eta-1, not on other-1/);

  const badRun = await client(server.remote, ['observe', 'not-a-uuid']);
  assert.equal(badRun.code, 124);
  const noRun = await client(server.remote, ['observe', '00000000-0000-4000-8000-000000000000']);
  assert.equal(noRun.code, 123);
  assert.match(noRun.err, /no run with id 00000000-0000-4000-8000-000000000000/);

  const unknownCommand = await client(server.remote, ['frobnicate']);
  assert.equal(unknownCommand.code, 124);
  const unknownFlag = await client(server.remote, ['info', '--bogus']);
  assert.equal(unknownFlag.code, 124);
  assert.match(unknownFlag.err, /unknown option --bogus/);
  for (const r of [unreachable, unknown, dup, badPeriod, missing, unknownFlag]) assert.equal(r.err.trim().split('\n').length, 1, 'one line');
});

test('schedule, execute and unschedule change the schedule and the queues as info shows', async () => {
  const server = await startServer(tempDir());
  await scheduleJob(server, 'first', 'theta-1', '#!/bin/sh\n', ['--period', 'daily']);
  await scheduleJob(server, 'second', 'theta-1', '#!/bin/sh\n', ['--period', 'daily']);
  await scheduleJob(server, 'manual', 'theta-1', '#!/bin/sh\n', ['--period', 'never']);
  let info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.queues[0].jobs.map((j: { name: string }) => j.name), ['first', 'second'], 'a period queues the first run at once; never does not');
  assert.equal(info.schedule.find((e: { name: string }) => e.name === 'manual').next, null);
  const ok = await clientJson(server.remote, ['execute', 'manual']);
  assert.equal(ok.ok, true);
  await clientJson(server.remote, ['execute', 'second']);
  info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.queues[0].jobs.map((j: { name: string }) => j.name), ['second', 'manual', 'first'], 'execute moves to the front');
  await clientJson(server.remote, ['unschedule', 'manual']);
  info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.queues[0].jobs.map((j: { name: string }) => j.name), ['second', 'first']);
  assert.deepEqual(info.schedule.map((e: { name: string }) => e.name), ['first', 'second']);
  const human = await client(server.remote, ['info']);
  assert.match(human.out, /theta-1 {2}2 jobs {2}second, first/);
});
