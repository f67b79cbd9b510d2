import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientJson, scheduleJob, startServer, startWorker, storedResults, tempDir, waitFor } from './harness.js';

test('two workers of one platform never get the same run, and a worker of another platform gets nothing', async () => {
  const server = await startServer(tempDir());
  const names = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
  for (const n of names) await scheduleJob(server, n, 'alpha-1', `#!/bin/sh\necho "$BUILDER_JOB ran on $$"\nsleep 0.1\n`, ['--period', 'daily']);
  const w1 = startWorker(server.remote, 'alpha-1', ['--loop']);
  const w2 = startWorker(server.remote, 'alpha-1', ['--loop']);
  const other = startWorker(server.remote, 'beta-1', ['--loop']);
  await waitFor('all six runs stored', () => names.every((n) => storedResults(server.dir, n).length === 1));
  const info = await clientJson(server.remote, ['info']);
  assert.equal(info.workers.length, 3);
  const beta = info.workers.find((w: { platform: string }) => w.platform === 'beta-1');
  assert.equal(beta.run_id, null, 'the beta worker got nothing');
  const runIds = names.map((n) => storedResults(server.dir, n)[0]!.result.run_id);
  assert.equal(new Set(runIds).size, names.length, 'every run id is distinct');
  const byWorker = new Map<string, number>();
  for (const n of names) {
    const r = storedResults(server.dir, n)[0]!.result;
    assert.deepEqual(r.outcome, { kind: 'exited', code: 0 });
    byWorker.set(r.worker.id, (byWorker.get(r.worker.id) ?? 0) + 1);
  }
  assert.ok(![...byWorker.keys()].includes(beta.id));
  assert.equal([...byWorker.values()].reduce((a, b) => a + b, 0), names.length, 'each job ran exactly once');
  for (const w of [w1, w2, other]) w.child.kill('SIGTERM');
});
