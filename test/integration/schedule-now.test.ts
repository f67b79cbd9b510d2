import assert from 'node:assert/strict';
import { test } from 'node:test';
import { client, clientJson, startServer, startWorker, stopChild, storedResults, tempDir, waitFor, writeScript } from './harness.js';

test('schedule --period never --now queues a one-off job in one call; without --now it waits; a refused one queues nothing', async () => {
  const server = await startServer(tempDir());
  const dir = tempDir('builder-script-');
  const once = writeScript(dir, 'once.sh', '#!/bin/sh\necho once\n');
  const r = await clientJson(server.remote, ['schedule', 'once', 'now-1', once, '--period', 'never', '--now']);
  assert.match(r.message, /scheduled once on now-1, first in the now-1 queue/);
  const info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.queues.find((q: any) => q.platform === 'now-1')?.jobs.map((j: any) => j.name), ['once'], JSON.stringify(info.queues));

  const later = writeScript(dir, 'later.sh', '#!/bin/sh\necho later\n');
  await clientJson(server.remote, ['schedule', 'later', 'now-1', later, '--period', 'never']);
  const w = startWorker(server.remote, 'now-1', ['--loop']);
  await waitFor('the --now run stored', () => storedResults(server.dir, 'once').length === 1);
  assert.equal(storedResults(server.dir, 'once')[0]!.result.outcome.code, 0);
  assert.equal(storedResults(server.dir, 'later').length, 0, 'a never job without --now is not queued');

  // A refused schedule queues nothing; --replace --now updates it and runs it.
  const refused = await client(server.remote, ['schedule', 'later', 'now-1', once, '--period', 'never', '--now']);
  assert.equal(refused.code, 123, refused.err);
  assert.match(refused.err, /later is already scheduled/);
  await clientJson(server.remote, ['schedule', 'later', 'now-1', once, '--period', 'never', '--replace', '--now']);
  await waitFor('the replaced job run', () => storedResults(server.dir, 'later').length === 1);
  assert.equal(storedResults(server.dir, 'later').length, 1);
  const usage = await client(server.remote, ['schedule', '--from', dir, '--platform', 'now-1', '--now']);
  assert.equal(usage.code, 124, usage.err);
  await stopChild(w.child);
  await stopChild(server.child);
});
