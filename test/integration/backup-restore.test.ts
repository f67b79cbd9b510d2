import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { client, clientJson, scheduleJob, startServer, startWorker, stopChild, storedConsole, storedResults, tempDir, waitFor } from './harness.js';

// README "Backup and restore of the spool": a tar of a running server's spool,
// unpacked elsewhere, is a spool another server starts on (here on the same
// host while the original still runs, so the copied lock must not block it),
// with every result, schedule entry and queued job, and the run that was in
// progress requeued.

test('a tar of a running spool restores into a spool a second server starts on, while the first still runs', async () => {
  const dir = tempDir();
  const server = await startServer(dir);
  await scheduleJob(server, 'done', 'bk-1', '#!/bin/sh\necho stored before the backup\n');
  await clientJson(server.remote, ['execute', 'done']);
  const worker = startWorker(server.remote, 'bk-1', ['--loop']);
  await waitFor('the first result', () => storedResults(dir, 'done').length === 1);
  await scheduleJob(server, 'long', 'bk-1', '#!/bin/sh\necho long started\nsleep 60\n');
  await clientJson(server.remote, ['execute', 'long']);
  const running = await waitFor('the long job to run', async () => (await clientJson(server.remote, ['info'])).running.find((r: { name: string }) => r.name === 'long'));
  await scheduleJob(server, 'nightly', 'bk-1', '#!/bin/sh\necho nightly\n', ['--period', 'daily']);
  await scheduleJob(server, 'queued', 'bk-2', '#!/bin/sh\necho queued\n');
  await clientJson(server.remote, ['execute', 'queued']);

  const tar = join(tempDir('builder-backup-'), 'spool.tar');
  execFileSync('tar', ['-C', dir, '-cpf', tar, '.']);
  const restored = join(tempDir('builder-restore-'), 'spool');
  mkdirSync(restored);
  execFileSync('tar', ['-C', restored, '-xpf', tar]);
  assert.match(readFileSync(join(restored, 'lock'), 'utf8'), new RegExp(`"pid":${server.child.pid}\\b`), 'the copy carries the running server\'s lock');

  // The original keeps running (and holds its own spool); the copy is another directory.
  const second = await startServer(restored, ['--reattach-grace', '0']);
  const info = await clientJson(second.remote, ['info']);
  const queued = Object.fromEntries(info.queues.map((q: { platform: string; jobs: { name: string }[] }) => [q.platform, q.jobs.map((j) => j.name)]));
  assert.deepEqual(queued['bk-1'], ['long', 'nightly'], 'the run in progress at the backup is queued again, first');
  assert.deepEqual(queued['bk-2'], ['queued']);
  const names = (await clientJson(second.remote, ['info'])).schedule.map((e: { name: string }) => e.name).sort();
  assert.deepEqual(names, ['done', 'long', 'nightly', 'queued']);
  const results = await clientJson(second.remote, ['results', 'done']);
  assert.equal(results.length, 1);
  assert.deepEqual(storedConsole(storedResults(restored, 'done')[0]!.dir), ['stored before the backup']);
  const interrupted = storedResults(restored, 'long');
  assert.equal(interrupted.length, 1, 'the interrupted run is recorded in the copy');
  assert.equal(interrupted[0]!.result.run_id, running.run_id);

  // The original was not disturbed, and still refuses a second server on its own spool.
  assert.equal(server.child.exitCode, null);
  const again = await client(server.remote, ['--json', 'info']);
  assert.equal(JSON.parse(again.out).running[0].run_id, running.run_id);
  await stopChild(worker.child);
});
