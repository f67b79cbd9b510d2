import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeExec } from '../../src/upload/exec-decode.js';
import { client, clientJson, scheduleJob, startServer, startWorker, storedResults, tempDir, waitFor } from './harness.js';
import { startReceiver } from './receiver.js';

test('a receiver that answers 500 three times gets the run exactly once, across a SIGKILL and restart of the server; then the local copy goes', async () => {
  const receiver = await startReceiver((n) => (n < 3 ? 500 : 201));
  const dir = tempDir();
  // Back-off 300 ms: attempts at about 0, 0.3, 0.9 and 2.1 s, so the kill lands well before delivery.
  const args = ['--upload', receiver.url.replace('//', '//u:pw@'), '--upload-backoff-ms', '300'];
  let server = await startServer(dir, args);
  await scheduleJob(server, 'flaky', 'up-2', '#!/bin/sh\necho one\nprintf art > bin.txt\n');
  assert.equal((await client(server.remote, ['execute', 'flaky'])).code, 0);
  startWorker(server.remote, 'up-2');
  await waitFor('the first refused attempt', () => receiver.requests.length >= 1);
  const stored = await waitFor('the stored run', () => storedResults(dir, 'flaky')[0]);
  const runId: string = stored.result.run_id;
  const outboxFile = join(dir, 'outbox', `${runId}.json`);
  await waitFor('the retry state to be persisted', () => existsSync(outboxFile) && JSON.parse(readFileSync(outboxFile, 'utf8')).attempts >= 1);

  server.child.kill('SIGKILL');
  await server.exited;
  assert.ok(receiver.requests.length < 4, 'not delivered before the kill');
  const persisted = JSON.parse(readFileSync(outboxFile, 'utf8'));
  assert.equal(persisted.result, `results/flaky/${runId}`);
  assert.match(persisted.last_error, /HTTP 500/);

  server = await startServer(dir, args);
  await waitFor('delivery after the restart', () => receiver.requests.some((r) => r.status === 201), 20000);
  await waitFor('the outbox to empty', async () => (await clientJson(server.remote, ['info'])).upload?.outbox === 0);
  assert.deepEqual(receiver.requests.map((r) => r.status), [500, 500, 500, 201], 'three refusals, then exactly one delivery');
  for (const r of receiver.requests) assert.equal(decodeExec(r.body).uuid, runId);
  assert.ok(receiver.requests.every((r) => r.body.equals(receiver.requests[0]!.body)), 'every attempt sent the same bytes');
  assert.match(server.err(), /1 waiting in the outbox/);
  assert.match(server.err(), /uploaded flaky .*attempt 4/);
  await waitFor('the local copy to be removed after delivery', () => !existsSync(join(dir, 'results', 'flaky', runId)));
  assert.deepEqual(readdirSync(join(dir, 'outbox')), []);
  assert.deepEqual(readdirSync(join(dir, 'dead-letter')), []);
});
