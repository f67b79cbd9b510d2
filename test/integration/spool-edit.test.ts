import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { clientJson, scheduleJob, startServer, startWorker, storedResults, tempDir, waitFor } from './harness.js';

const queued = async (remote: string, platform: string): Promise<string[]> =>
  ((await clientJson(remote, ['info'])).queues.find((q: any) => q.platform === platform)?.jobs ?? []).map((j: any) => j.name);

test('a job file written into a queue directory by hand is dispatched while the server runs', async () => {
  const server = await startServer(tempDir());
  const w = startWorker(server.remote, 'tau-1', ['--loop']);
  await waitFor('the worker', async () => (await clientJson(server.remote, ['info'])).workers.length === 1);
  mkdirSync(join(server.dir, 'queue', 'tau-1'), { recursive: true });
  writeFileSync(join(server.dir, 'queue', 'tau-1', 'by-hand.json'), JSON.stringify({ job: { name: 'manual', script: '#!/bin/sh\necho by hand\n' } }));
  await waitFor('the hand-queued job to run', () => storedResults(server.dir, 'manual').length === 1);
  assert.deepEqual(storedResults(server.dir, 'manual')[0]!.result.outcome, { kind: 'exited', code: 0 });
  w.child.kill('SIGTERM');
});

test('a queued job file removed by hand is not dispatched', async () => {
  const server = await startServer(tempDir());
  await scheduleJob(server, 'gone', 'tau-2', '#!/bin/sh\necho should not run\n', ['--period', 'daily']);
  await scheduleJob(server, 'kept', 'tau-2', '#!/bin/sh\necho runs\n', ['--period', 'daily']);
  const dir = join(server.dir, 'queue', 'tau-2');
  const file = readdirSync(dir).find((f) => f.endsWith('-gone.json'))!;
  rmSync(join(dir, file));
  await waitFor('the server to notice', async () => (await queued(server.remote, 'tau-2')).join() === 'kept');
  startWorker(server.remote, 'tau-2');
  await waitFor('the kept job to run', () => storedResults(server.dir, 'kept').length === 1);
  assert.equal(storedResults(server.dir, 'gone').length, 0);
});

test('a schedule entry edited by hand is re-read; a malformed one is quarantined with a log line', async () => {
  const server = await startServer(tempDir());
  await scheduleJob(server, 'edited', 'tau-3', '#!/bin/sh\n', ['--period', 'never']);
  const path = join(server.dir, 'schedule', 'edited.json');
  const entry = JSON.parse(readFileSync(path, 'utf8'));
  writeFileSync(path, JSON.stringify({ ...entry, period: 'weekly', next: '2031-05-06T07:08:09.000Z' }, null, 2));
  await waitFor('the edit to be re-read', async () => (await clientJson(server.remote, ['info'])).schedule[0]?.next === '2031-05-06T07:08:09.000Z');
  writeFileSync(join(server.dir, 'schedule', 'broken.json'), '{ "name": "broken", ');
  await waitFor('the broken file to be quarantined', () => !existsSync(join(server.dir, 'schedule', 'broken.json')));
  const q = readdirSync(join(server.dir, 'quarantine'));
  assert.ok(q.some((f) => f.endsWith('schedule_broken.json')), q.join());
  assert.match(server.err(), /schedule\/broken\.json: .*not valid JSON.*moved to quarantine/);
  const info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.schedule.map((e: any) => e.name), ['edited'], 'the server carries on');
  rmSync(path);
  await waitFor('the removed entry to be forgotten', async () => (await clientJson(server.remote, ['info'])).schedule.length === 0);
});
