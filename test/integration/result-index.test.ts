import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { client, clientJson, scheduleJob, startServer, startWorker, stopChild, storedResults, tempDir, waitFor } from './harness.js';

const INDEX = 'result-index.ndjson';

async function runJobs(remote: string, names: string[], dir: string): Promise<void> {
  for (const n of names) await clientJson(remote, ['execute', n]);
  await waitFor(`${names.length} runs stored`, () => names.every((n) => storedResults(dir, n).length >= 1));
}

test('results and observe-latest come from the index in the spool, which is rebuilt when missing and repaired when stale', async () => {
  const dir = tempDir();
  let server = await startServer(dir);
  for (const n of ['a', 'b', 'c']) await scheduleJob(server, n, 'ix-1', `#!/bin/sh\necho ${n}\n`);
  const w = startWorker(server.remote, 'ix-1', ['--loop']);
  await runJobs(server.remote, ['a', 'b', 'c'], dir);
  const ids = (await clientJson(server.remote, ['results'])).map((r: any) => r.name);
  assert.deepEqual(ids, ['c', 'b', 'a'], 'newest first');
  await waitFor('the index to list 3 runs', () => existsSync(join(dir, INDEX)) && readFileSync(join(dir, INDEX), 'utf8').trim().split('\n').length >= 3);
  const latest = await clientJson(server.remote, ['results', 'b', '--limit', '1']);
  assert.equal(latest.length, 1);
  assert.equal(latest[0].name, 'b');
  await stopChild(w.child);
  await stopChild(server.child);

  // Missing: rebuilt from the result files.
  unlinkSync(join(dir, INDEX));
  server = await startServer(dir);
  assert.deepEqual((await clientJson(server.remote, ['results'])).map((r: any) => r.name), ['c', 'b', 'a']);
  await waitFor('the index rewritten', () => existsSync(join(dir, INDEX)));
  await stopChild(server.child);

  // Stale: a torn last line, a result removed by hand, one added behind its back (a lost append).
  appendFileSync(join(dir, INDEX), '{"run_id":"torn');
  rmSync(storedResults(dir, 'a')[0]!.dir, { recursive: true });
  const text = readFileSync(join(dir, INDEX), 'utf8').split('\n');
  const bLine = text.findIndex((l) => l.includes('"name":"b"'));
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, INDEX), text.filter((_l, i) => i !== bLine).join('\n'));
  server = await startServer(dir);
  assert.deepEqual((await clientJson(server.remote, ['results'])).map((r: any) => r.name), ['c', 'b']);
  const r = await clientJson(server.remote, ['results', 'a']);
  assert.deepEqual(r, [], 'a scheduled job with no result left lists none');
  const latest2 = await client(server.remote, ['observe-latest', '--platform', 'ix-1']);
  assert.equal(latest2.code, 0, latest2.err);
  assert.match(latest2.out, /^c$/m, 'the newest stored run is observed');
  await stopChild(server.child);
  const repaired = readFileSync(join(dir, INDEX), 'utf8').trim().split('\n').map((l) => JSON.parse(l).name);
  assert.deepEqual(repaired.sort(), ['b', 'c']);
});

test('--keep prunes through the index: the oldest results go, the index follows', async () => {
  const dir = tempDir();
  const server = await startServer(dir, ['--keep', '2']);
  await scheduleJob(server, 'k', 'ix-2', '#!/bin/sh\necho k\n');
  const w = startWorker(server.remote, 'ix-2', ['--loop']);
  for (let i = 1; i <= 4; i++) {
    await clientJson(server.remote, ['execute', 'k']);
    await waitFor(`run ${i} stored`, async () => (await clientJson(server.remote, ['results', 'k', '--limit', '10'])).length >= Math.min(i, 2) && storedResults(dir, 'k').length >= Math.min(i, 2));
    await waitFor(`run ${i} finished`, async () => (await clientJson(server.remote, ['info'])).running.length === 0 && (await clientJson(server.remote, ['info'])).queues.every((q: any) => q.jobs.length === 0));
  }
  await waitFor('2 kept', () => storedResults(dir, 'k').length === 2);
  const listed = (await clientJson(server.remote, ['results', 'k', '--limit', '10'])).map((r: any) => r.run_id).sort();
  assert.deepEqual(listed, storedResults(dir, 'k').map((r) => r.result.run_id).sort());
  await stopChild(w.child);
  await stopChild(server.child);
});
