import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { clientJson, scheduleJob, startServer, startWorker, storedConsole, storedResults, tempDir, waitFor, type TestServer } from './harness.js';

// An artifact that changes size while the worker sends it: the frame always
// carries exactly the announced bytes, so the session stays in step and the
// same --loop worker goes on to the next job.

const script = '#!/bin/sh\nhead -c 8388608 /dev/zero > a-first\nhead -c 134217728 /dev/zero > a-second\nhead -c 1048576 /dev/zero > b\n';

/**
 * Changes the job's file b after the worker listed it and before it sends
 * it: once the server has begun receiving a-first, the server is stopped
 * (SIGSTOP), so the worker is held inside a-second (128 MiB, more than any
 * socket buffer) while b is changed; then it goes on.
 */
async function changeB(server: TestServer, workdir: string, change: (file: string) => void): Promise<void> {
  const deadline = Date.now() + 60000;
  const receiving = () => {
    const running = join(server.dir, 'running');
    return readdirSync(running).some((id) => existsSync(join(running, id, 'artifacts', 'a-first')));
  };
  while (!receiving()) {
    if (Date.now() > deadline) throw new Error('the server never began receiving a-first');
    await new Promise((r) => setTimeout(r, 2));
  }
  process.kill(server.child.pid!, 'SIGSTOP');
  try {
    const dir = readdirSync(workdir).map((d) => join(workdir, d)).find((d) => existsSync(join(d, 'b')));
    assert.ok(dir, 'the job dir');
    change(join(dir, 'b'));
  } finally {
    process.kill(server.child.pid!, 'SIGCONT');
  }
}

test('an artifact that grows while it is sent is cut at its announced size; one that shrinks is padded and fails the run; the worker goes on', async () => {
  const server = await startServer(tempDir());
  const workdir = tempDir();
  await scheduleJob(server, 'grows', 'as-1', script);
  await scheduleJob(server, 'shrinks', 'as-1', script);
  await scheduleJob(server, 'after', 'as-1', '#!/bin/sh\necho fine > out\n');
  startWorker(server.remote, 'as-1', ['--loop', '--workdir', workdir]);

  await clientJson(server.remote, ['execute', 'grows']);
  await changeB(server, workdir, (b) => appendFileSync(b, Buffer.alloc(4 << 20)));
  await waitFor('the growing run to be stored', () => storedResults(server.dir, 'grows').length === 1, 60000);
  const grew = storedResults(server.dir, 'grows')[0]!;
  assert.deepEqual(grew.result.outcome, { kind: 'exited', code: 0 });
  const b = grew.result.artifacts.find((a: any) => a.path === 'b');
  assert.equal(b.size, 1048576, 'the announced size');
  assert.equal(statSync(join(grew.dir, 'artifacts', 'b')).size, 1048576);
  assert.ok(storedConsole(grew.dir).includes('builder-worker: artifact b grew to 5242880 bytes while it was sent; sent its first 1048576 bytes'), storedConsole(grew.dir).join('\n'));

  await clientJson(server.remote, ['execute', 'shrinks']);
  await changeB(server, workdir, (b) => truncateSync(b, 1000));
  await waitFor('the shrinking run to be stored', () => storedResults(server.dir, 'shrinks').length === 1, 60000);
  const shrank = storedResults(server.dir, 'shrinks')[0]!;
  assert.deepEqual(shrank.result.outcome, { kind: 'failed', message: 'exited 0, but artifact b shrank from 1048576 to 1000 bytes while it was sent (padded with zero bytes)' });

  await clientJson(server.remote, ['execute', 'after']);
  await waitFor('the next run on the same worker', () => storedResults(server.dir, 'after').length === 1, 30000);
  assert.deepEqual(storedResults(server.dir, 'after')[0]!.result.outcome, { kind: 'exited', code: 0 });
  assert.doesNotMatch(server.err(), /worker lost|protocol error/);
});
