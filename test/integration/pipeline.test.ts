import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { scheduleJob, startServer, startWorker, storedResults, tempDir, waitFor, client, type Proc } from './harness.js';
import { fileLines } from './job-trace.js';

// Issue 15 item 1: a worker asks for its next job once its job's process has
// exited, and the server claims it and sends it ahead while the last one is
// reported and stored. A job that leaves a big artifact keeps its report
// going long enough for the next claim to land first ("sent ahead" in the
// server's log); every job appends its name to `order` when it starts.

const ARTIFACT_MB = 40;

function script(out: string, name: string, big: boolean): string {
  return `#!/bin/sh
echo ${name} >> ${out}/order
${big ? `dd if=/dev/zero of=big.bin bs=1048576 count=${ARTIFACT_MB} 2>/dev/null` : 'true'}
`;
}


async function queueNow(remote: string, name: string): Promise<void> {
  const r = await client(remote, ['execute', name]);
  if (r.code !== 0) throw new Error(`execute ${name}: ${r.err}`);
}

function kill(p: Proc): Promise<unknown> {
  p.child.kill('SIGKILL');
  return p.exited;
}

test('jobs back to back through one worker: each runs once, in queue order, and the next is sent ahead while the last is reported', async () => {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  const server = await startServer(dir);
  const names = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'];
  for (const [i, name] of names.entries()) await scheduleJob(server, name, 'pipe-1', script(out, name, i % 2 === 0));
  // execute puts a job in front of the queue: the last one queued runs first.
  for (const name of [...names].reverse()) await queueNow(server.remote, name);
  const worker = startWorker(server.remote, 'pipe-1', ['--loop']);
  try {
    await waitFor('every job stored', () => names.every((n) => storedResults(dir, n).length >= 1), 60_000);
    assert.deepEqual(fileLines(join(out, 'order')), names, 'each job began once, in queue order');
    for (const n of names) {
      const r = storedResults(dir, n);
      assert.equal(r.length, 1, `${n}: one result`);
      assert.deepEqual(r[0]!.result.outcome, { kind: 'exited', code: 0 }, `${n}: ${JSON.stringify(r[0]!.result.outcome)}`);
    }
    assert.match(server.err(), /p\d on pipe-1 sent ahead to worker/, 'a next job was claimed and sent while the last one was reported');
    assert.deepEqual(readdirSync(join(dir, 'running')), []);
  } finally {
    await kill(worker);
    await kill(server);
  }
});

test('a server SIGKILLed while a job is sent ahead: after a restart that job runs once, never lost', async () => {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  const flags = ['--heartbeat', '1', '--reattach-grace', '2'];
  let server = await startServer(dir, flags);
  await scheduleJob(server, 'big', 'pipe-2', script(out, 'big', true));
  await scheduleJob(server, 'next', 'pipe-2', script(out, 'next', false));
  // execute puts a job in front: big runs first, next behind it.
  await queueNow(server.remote, 'next');
  await queueNow(server.remote, 'big');
  const worker = startWorker(server.remote, 'pipe-2', ['--loop']);
  try {
    await waitFor('the next job to be sent ahead', () => /next on pipe-2 sent ahead to worker/.test(server.err()), 30_000);
    await kill(server);
    server = await startServer(dir, flags, server.port);
    await waitFor('next to be stored as exited 0', () => storedResults(dir, 'next').some((r) => r.result.outcome.kind === 'exited'), 60_000);
    await waitFor('big to be stored', () => storedResults(dir, 'big').length >= 1, 30_000);
    const order = fileLines(join(out, 'order'));
    assert.equal(order.filter((l) => l === 'next').length, 1, `next began exactly once: ${order.join(' ')}`);
    assert.equal(order.filter((l) => l === 'big').length, 1, `big began once (resumed, not rerun): ${order.join(' ')}`);
    const ok = storedResults(dir, 'next').filter((r) => r.result.outcome.kind === 'exited' && r.result.outcome.code === 0);
    assert.equal(ok.length, 1, 'one successful result of next');
    await waitFor('running/ to be empty', () => readdirSync(join(dir, 'running')).length === 0, 10_000);
  } finally {
    await kill(worker);
    await kill(server);
  }
});

test('a worker SIGKILLed while a job is sent ahead: that job goes back to its queue unbegun (no result, no retry used) and runs once on the next worker', async () => {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  const server = await startServer(dir, ['--reattach-grace', '0']);
  await scheduleJob(server, 'big', 'pipe-3', script(out, 'big', true));
  await scheduleJob(server, 'next', 'pipe-3', script(out, 'next', false));
  // execute puts a job in front: big runs first, next behind it.
  await queueNow(server.remote, 'next');
  await queueNow(server.remote, 'big');
  const first = startWorker(server.remote, 'pipe-3', ['--loop']);
  let second: Proc | null = null;
  try {
    await waitFor('the next job to be sent ahead', () => /next on pipe-3 sent ahead to worker/.test(server.err()), 30_000);
    await kill(first);
    await waitFor('next to go back to its queue', () => /next back in the queue of pipe-3, never begun/.test(server.err()), 10_000);
    assert.deepEqual(storedResults(dir, 'next'), [], 'no result for a run never begun');
    second = startWorker(server.remote, 'pipe-3', ['--loop']);
    await waitFor('next to be stored', () => storedResults(dir, 'next').length >= 1, 30_000);
    const results = storedResults(dir, 'next');
    assert.equal(results.length, 1);
    assert.deepEqual(results[0]!.result.outcome, { kind: 'exited', code: 0 });
    assert.equal(results[0]!.result.retries, 0, 'putting back an unbegun run uses no retry');
    assert.equal(fileLines(join(out, 'order')).filter((l) => l === 'next').length, 1, 'next began once');
  } finally {
    if (second) await kill(second);
    await kill(first);
    await kill(server);
  }
});
