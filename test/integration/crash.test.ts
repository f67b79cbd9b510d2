import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { clientJson, scheduleJob, startServer, startWorker, storedResults, tempDir, waitFor } from './harness.js';

test('SIGKILL of the server keeps queued jobs in order, requeues the running one, and sweeps a torn write', async () => {
  const dir = tempDir();
  let server = await startServer(dir);
  await scheduleJob(server, 'long', 'gamma-1', '#!/bin/sh\necho started\nsleep 30\n', ['--period', 'daily']);
  const worker = startWorker(server.remote, 'gamma-1');
  const running = await waitFor('the long job to run', async () => (await clientJson(server.remote, ['info'])).running[0]);
  for (const n of ['q1', 'q2', 'q3']) await scheduleJob(server, n, 'gamma-1', '#!/bin/sh\necho hi\n', ['--period', 'daily']);
  const before = await clientJson(server.remote, ['info']);
  assert.deepEqual(before.queues[0].jobs.map((j: { name: string }) => j.name), ['q1', 'q2', 'q3']);

  server.child.kill('SIGKILL');
  await server.exited;
  // A worker that does not come back (reattach.test.ts covers one that does).
  worker.child.kill('SIGTERM');
  await worker.exited;
  assert.ok(existsSync(join(dir, 'running', running.run_id)), 'the run was in progress on disk');
  // A torn write: a half-written record left in tmp/ by a crash.
  writeFileSync(join(dir, 'tmp', '999.torn.tmp'), '{"version":1,"job":{"na');
  // What a crash in the middle of claims can leave (spool.ts claim): a new running/<id>/ the job never
  // moved into, and one holding the run record while its job (q2) is still queued.
  const empty = randomUUID();
  mkdirSync(join(dir, 'running', empty));
  const orphan = randomUUID();
  const record = JSON.parse(readFileSync(join(dir, 'running', running.run_id, 'run.json'), 'utf8'));
  mkdirSync(join(dir, 'running', orphan));
  writeFileSync(join(dir, 'running', orphan, 'run.json'), JSON.stringify({ ...record, run_id: orphan, job: { ...record.job, name: 'q2' } }));

  server = await startServer(dir, ['--reattach-grace', '0']);
  // why the torn file by name: the new server may be writing records of its own through tmp/ already (it listens first).
  await waitFor('the torn write swept from tmp/', () => !existsSync(join(dir, 'tmp', '999.torn.tmp')));
  assert.match(server.err(), /swept torn write tmp\/999\.torn\.tmp/);
  const after = await clientJson(server.remote, ['info']);
  assert.deepEqual(after.queues[0].jobs.map((j: { name: string }) => j.name), ['long', 'q1', 'q2', 'q3'], 'the running job is requeued first, the rest keep their order (q2 once)');
  assert.deepEqual(readdirSync(join(dir, 'running')), []);
  assert.deepEqual(
    storedResults(dir, 'q2').map((r) => [r.result.run_id, r.result.outcome.kind]),
    [[orphan, 'failed']],
    'the claim cut short is kept as an interrupted attempt',
  );
  const [interrupted] = storedResults(dir, 'long');
  assert.equal(interrupted!.result.run_id, running.run_id);
  assert.match(interrupted!.result.outcome.message, /interrupted/);
  for (const f of readdirSync(join(dir, 'queue', 'gamma-1'))) JSON.parse(readFileSync(join(dir, 'queue', 'gamma-1', f), 'utf8'));
});

test('stopping the server with SIGTERM leaves a running job in the spool, and the next start requeues it', async () => {
  const dir = tempDir();
  let server = await startServer(dir);
  await scheduleJob(server, 'upgrade', 'gamma-2', '#!/bin/sh\necho started\nsleep 30\n', ['--period', 'never']);
  await clientJson(server.remote, ['execute', 'upgrade']);
  const worker = startWorker(server.remote, 'gamma-2');
  const running = await waitFor('the job to run', async () => (await clientJson(server.remote, ['info'])).running[0]);
  server.child.kill('SIGTERM');
  await server.exited;
  worker.child.kill('SIGTERM');
  await worker.exited;
  assert.ok(existsSync(join(dir, 'running', running.run_id)), 'the run is still in running/');
  assert.equal(storedResults(dir, 'upgrade').length, 0, 'not recorded as failed');
  server = await startServer(dir, ['--reattach-grace', '0']);
  const info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.queues[0].jobs.map((j: { name: string }) => j.name), ['upgrade'], 'requeued at the next start');
});
