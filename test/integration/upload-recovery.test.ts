import assert from 'node:assert/strict';
import { existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeExec } from '../../src/upload/exec-decode.js';
import { scheduleJob, startServer, startWorker, stopChild, storedResults, tempDir, waitFor } from './harness.js';
import { startReceiver } from './receiver.js';

// The moments of a crash around storing a run with --upload, rebuilt by hand:
// the outbox record is written first, then result.json, then the run's
// directory moves from running/ to results/.

async function storedRun(dir: string, name: string): Promise<string> {
  const server = await startServer(dir);
  await scheduleJob(server, name, 'rec-1', '#!/bin/sh\necho built\nprintf x > out.bin\n', ['--period', 'daily']);
  startWorker(server.remote, 'rec-1');
  const { result } = await waitFor('the run', () => storedResults(dir, name)[0]);
  await stopChild(server.child);
  // Back into running/, as if the server died before the final rename.
  renameSync(join(dir, 'results', name, result.run_id), join(dir, 'running', result.run_id));
  const now = new Date().toISOString();
  const record = { version: 1, run_id: result.run_id, job: name, result: `results/${name}/${result.run_id}`, enqueued: now, attempts: 0, failures: 0, next_attempt: now, last_error: null };
  writeFileSync(join(dir, 'outbox', `${result.run_id}.json`), JSON.stringify(record, null, 2));
  return result.run_id;
}

test('a crash after the result was written but before it moved to results/: the restart stores and uploads it', async () => {
  const receiver = await startReceiver();
  const dir = tempDir();
  const runId = await storedRun(dir, 'late');
  const server = await startServer(dir, ['--upload', receiver.url, '--keep-local']);
  await waitFor('the upload', () => receiver.requests.length === 1);
  assert.equal(decodeExec(receiver.requests[0]!.body).uuid, runId);
  assert.ok(existsSync(join(dir, 'results', 'late', runId, 'result.json')));
  await waitFor('the outbox to empty', () => readdirSync(join(dir, 'outbox')).length === 0);
  await stopChild(server.child);
  await receiver.close();
});

test('a crash before the result was written: the attempt is requeued and its outbox record dropped, nothing uploaded', async () => {
  const receiver = await startReceiver();
  const dir = tempDir();
  const runId = await storedRun(dir, 'early');
  rmSync(join(dir, 'running', runId, 'result.json'));
  const server = await startServer(dir, ['--upload', receiver.url, '--reattach-grace', '0']);
  await waitFor('the uploader to start', () => /0 waiting in the outbox/.test(server.err()));
  assert.deepEqual(readdirSync(join(dir, 'outbox')), []);
  assert.equal(receiver.requests.length, 0);
  const [interrupted] = storedResults(dir, 'early').filter((r) => r.result.run_id === runId);
  assert.match(interrupted!.result.outcome.message, /interrupted/);
  await stopChild(server.child);
  await receiver.close();
});
