import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { client, clientJson, startServer, tempDir } from './harness.js';

test('info answers with 20,000 queued jobs: a count and the first 100 by default, every job with --all', async () => {
  const dir = tempDir();
  const q = join(dir, 'queue', 'wide-1');
  mkdirSync(q, { recursive: true });
  const script = '#!/bin/sh\ntrue\n';
  // Written straight into the spool before the start, as a big hand-made backlog would be.
  for (let i = 0; i < 20_000; i++) {
    const name = `queued-job-number-${String(i).padStart(5, '0')}`;
    writeFileSync(join(q, `${String(1_000_000_000_000_000 + i)}-${name}.json`), JSON.stringify({ version: 1, job: { name, platform: 'wide-1', script }, queued: new Date().toISOString(), retries: 0 }));
  }
  const server = await startServer(dir);
  const info = await clientJson(server.remote, ['info']);
  assert.equal(info.queues[0].count, 20_000);
  assert.equal(info.queues[0].jobs.length, 100);
  assert.equal(info.queues[0].jobs[0].name, 'queued-job-number-00000', 'the first jobs of the queue, in order');
  // The whole list is one reply line of well over 1 MiB: the client accepts it.
  const all = await clientJson(server.remote, ['info', '--all']);
  assert.equal(all.queues[0].jobs.length, 20_000);
  assert.equal(all.queues[0].jobs.at(-1).name, 'queued-job-number-19999');
  const human = await client(server.remote, ['info', '--limit', '3']);
  assert.equal(human.code, 0, human.err);
  assert.match(human.out, /wide-1 {2}20000 jobs {2}queued-job-number-00000, queued-job-number-00001, queued-job-number-00002 \.\.\. and 19997 more \(info --all lists them\)/);
  const bad = await client(server.remote, ['info', '--all', '--limit', '3']);
  assert.equal(bad.code, 124, 'both flags is a usage error');
  server.child.kill('SIGTERM');
});
