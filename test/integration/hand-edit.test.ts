import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { clientJson, pidFrom, startServer, startWorker, stopChild, storedResults, tempDir, waitFor } from './harness.js';

// Hand edits caught half-way: a file that does not parse yet is read again
// once it has been quiet (1 s) before it is quarantined; and a hand-dropped
// queue file without job.platform survives a restart while it runs.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a queue file and a schedule entry written in two halves 0.5 s apart are taken, not quarantined', async () => {
  const server = await startServer(tempDir());
  const q = join(server.dir, 'queue', 'he-1');
  mkdirSync(q, { recursive: true });
  const job = JSON.stringify({ job: { name: 'halves', script: '#!/bin/sh\necho two halves\n' } });
  const entry = JSON.stringify({ version: 1, name: 'slowly', platform: 'he-1', script: '#!/bin/sh\n', period: 'never', next: null });
  writeFileSync(join(q, 'by-hand.json'), job.slice(0, 20));
  writeFileSync(join(server.dir, 'schedule', 'slowly.json'), entry.slice(0, 30));
  await sleep(500);
  appendFileSync(join(q, 'by-hand.json'), job.slice(20));
  appendFileSync(join(server.dir, 'schedule', 'slowly.json'), entry.slice(30));
  await waitFor('the schedule entry', async () => (await clientJson(server.remote, ['info'])).schedule.some((e: any) => e.name === 'slowly'));
  startWorker(server.remote, 'he-1');
  await waitFor('the hand-queued job to run', () => storedResults(server.dir, 'halves').length === 1);
  assert.deepEqual(readdirSync(join(server.dir, 'quarantine')), []);
  assert.doesNotMatch(server.err(), /quarantine/);
});

test('a file that still does not parse once quiet is quarantined', async () => {
  const server = await startServer(tempDir());
  writeFileSync(join(server.dir, 'schedule', 'broken.json'), '{ "name": ');
  await waitFor('the quarantine', () => !existsSync(join(server.dir, 'schedule', 'broken.json')));
  assert.ok(readdirSync(join(server.dir, 'quarantine')).some((f) => f.endsWith('schedule_broken.json')));
});

test('a hand-dropped queue file without job.platform that is running at a restart is requeued from its directory, not lost', async () => {
  const dir = tempDir();
  const server = await startServer(dir);
  const pidFile = join(tempDir(), 'pid');
  const q = join(dir, 'queue', 'he-2');
  mkdirSync(q, { recursive: true });
  const marker = join(tempDir(), 'runs');
  const script = `#!/bin/sh\necho run >> ${marker}\nif [ "$(wc -l < ${marker})" -eq 1 ]; then echo $$ > ${pidFile}; sleep 60; fi\necho second time\n`;
  const staged = join(tempDir(), 'job.json');
  writeFileSync(staged, JSON.stringify({ job: { name: 'dropped', script } }));
  writeFileSync(join(q, 'dropped.json'), readFileSync(staged));
  const w = startWorker(server.remote, 'he-2');
  await pidFrom(pidFile);
  server.child.kill('SIGKILL');
  await server.exited;
  await stopChild(w.child, 'SIGKILL');
  // why no grace: this is about the queue file's platform, not about waiting for the worker to resume.
  const again = await startServer(dir, ['--reattach-grace', '0']);
  assert.match(again.err(), /dropped was running when the server stopped: requeued on he-2/);
  assert.deepEqual(readdirSync(join(dir, 'quarantine')), []);
  startWorker(again.remote, 'he-2');
  await waitFor('the requeued run', () => storedResults(dir, 'dropped').some((r) => r.result.outcome.kind === 'exited'), 30000);
});
