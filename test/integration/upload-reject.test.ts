import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { client, clientJson, scheduleJob, startServer, startWorker, stopChild, storedResults, tempDir, waitFor, type TestServer } from './harness.js';
import { startReceiver } from './receiver.js';

async function runOne(server: TestServer, name: string, platform: string): Promise<string> {
  await scheduleJob(server, name, platform, '#!/bin/sh\necho hi\n');
  assert.equal((await client(server.remote, ['execute', name])).code, 0);
  startWorker(server.remote, platform);
  const stored = await waitFor('the stored run', () => storedResults(server.dir, name)[0]);
  return stored.result.run_id as string;
}

test('a 401 is logged loudly as a credentials problem with the password masked, and retried slowly', async () => {
  const receiver = await startReceiver(() => 401);
  const server = await startServer(tempDir(), ['--upload', receiver.url.replace('//', '//builder:hunter2-secret@'), '--upload-backoff-ms', '100']);
  const runId = await runOne(server, 'denied', 'up-3');
  await waitFor('the credentials error', () => /CREDENTIALS PROBLEM/.test(server.err()));
  assert.match(server.err(), new RegExp(`error \\[${runId}\\] upload of denied failed \\(attempt 1\\): CREDENTIALS PROBLEM: http://builder:\\*\\*\\*@127\\.0\\.0\\.1:\\d+/upload answered HTTP 401`));
  assert.ok(!server.err().includes('hunter2'), 'the password never reaches the log');
  const rec = JSON.parse(readFileSync(join(server.dir, 'outbox', `${runId}.json`), 'utf8'));
  assert.equal(rec.attempts, 1);
  assert.ok(Date.parse(rec.next_attempt) - Date.now() > 5000, 'retried slowly (120 x the back-off), not at once');
  assert.ok(!JSON.stringify(rec).includes('hunter2'), 'nor does it reach the spool');
  const info = await clientJson(server.remote, ['info']);
  assert.deepEqual({ outbox: info.upload.outbox, dead_letter: info.upload.dead_letter }, { outbox: 1, dead_letter: 0 });
  assert.equal(receiver.requests.length, 1);
});

test('a run the receiver keeps refusing with 400 moves to dead-letter after --upload-max-failures, its result stays, and moved back it is retried afresh', async () => {
  let answer = 400;
  const receiver = await startReceiver(() => answer);
  const args = ['--upload', receiver.url, '--upload-backoff-ms', '50', '--upload-max-failures', '3'];
  let server = await startServer(tempDir(), args);
  const runId = await runOne(server, 'rejected', 'up-4');
  const deadFile = join(server.dir, 'dead-letter', `${runId}.json`);
  // Burying writes dead-letter/ first, then removes the outbox record and logs it.
  await waitFor('the run to be dead-lettered', () => existsSync(deadFile) && /moved to dead-letter/.test(server.err()));
  const dead = JSON.parse(readFileSync(deadFile, 'utf8'));
  assert.match(dead.dead_reason, /refused 3 times in a row, last: HTTP 400/);
  assert.equal(dead.attempts, 3);
  assert.equal(receiver.requests.length, 3);
  assert.ok(!existsSync(join(server.dir, 'outbox', `${runId}.json`)));
  assert.ok(existsSync(join(server.dir, 'results', 'rejected', runId, 'result.json')), 'the stored result is never deleted');
  assert.match(server.err(), new RegExp(`moved to dead-letter/${runId}\\.json`));
  const info = await clientJson(server.remote, ['info']);
  assert.deepEqual({ outbox: info.upload.outbox, dead_letter: info.upload.dead_letter }, { outbox: 0, dead_letter: 1 });

  // The operator fixes the receiver and moves the record back.
  answer = 201;
  await stopChild(server.child);
  renameSync(deadFile, join(server.dir, 'outbox', `${runId}.json`));
  server = await startServer(server.dir, args);
  await waitFor('delivery of the record taken back', () => receiver.requests.length === 4 && !existsSync(join(server.dir, 'outbox', `${runId}.json`)));
  assert.equal(receiver.requests[3]!.status, 201);
  assert.match(server.err(), /taken back from dead-letter/);
});
