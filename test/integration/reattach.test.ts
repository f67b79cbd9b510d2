import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { alive, clientJson, scheduleJob, startServer, startWorker, storedConsole, storedResults, tempDir, waitFor } from './harness.js';
import { fileLines, progress, tickingJob } from './job-trace.js';

// Issue 14: a server restart (crash or stop) never kills a running build.
// The job prints a line every 0.5 s for 8 s; outside its work dir it
// appends to `starts` each time it starts (with its pid) and writes how far
// it got to `progress`, so the test can wait on the job itself.

function jobScript(out: string): string {
  return tickingJob(out, { lines: 16, pause: '0.5', start: 'start' });
}

const EXPECTED = Array.from({ length: 16 }, (_, i) => `line ${i + 1}`);

for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
  test(`a server ${signal}ed 2 s into an 8 s job and restarted at 4 s: the job runs once, every line once and in order, one result`, async () => {
    const dir = tempDir();
    const out = tempDir('builder-job-out-');
    const flags = ['--heartbeat', '1', '--reattach-grace', '20'];
    let server = await startServer(dir, flags);
    await scheduleJob(server, 'steady', 'rho-1', jobScript(out));
    await clientJson(server.remote, ['execute', 'steady']);
    const worker = startWorker(server.remote, 'rho-1', ['--once']);
    const run = await waitFor('the job to run', async () => (await clientJson(server.remote, ['info'])).running[0]);
    await waitFor('the job to be 2 s in', () => progress(out) >= 4);
    server.child.kill(signal);
    await server.exited;
    assert.equal(worker.child.exitCode, null, 'the worker outlives the server');
    assert.ok(existsSync(join(dir, 'running', run.run_id)), 'the run stays in running/');
    await waitFor('the job to be 4 s in', () => progress(out) >= 8);
    assert.equal(worker.child.exitCode, null, 'the worker is still waiting for its server');
    // On the same port: the worker reconnects to the address it knows.
    server = await startServer(dir, flags, server.port);
    const { code } = await worker.exited;
    assert.equal(code, 0, `the worker reported the run: ${worker.err()}`);
    await waitFor('the result to be stored', () => storedResults(dir, 'steady').length === 1);
    const results = storedResults(dir, 'steady');
    assert.equal(results.length, 1, 'one result');
    assert.equal(results[0]!.result.run_id, run.run_id, 'the same attempt');
    assert.deepEqual(results[0]!.result.outcome, { kind: 'exited', code: 0 });
    assert.deepEqual(storedConsole(results[0]!.dir), EXPECTED, 'every line once and in order');
    assert.equal(results[0]!.result.console_lines, 16);
    assert.equal(fileLines(join(out, 'starts')).length, 1, 'the job started once');
    assert.deepEqual(readdirSync(join(dir, 'running')), []);
    const info = await clientJson(server.remote, ['info']);
    assert.deepEqual(info.queues.flatMap((q: { jobs: unknown[] }) => q.jobs), [], 'nothing requeued');
    assert.match(server.err(), /resumed the run from line \d+/);
  });
}

test('a worker that comes back after the grace is told the run is gone: its job is killed there and runs again elsewhere, one result per attempt', async () => {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  // Heartbeats of 2 s: the second attempt's worker must not look silent on a loaded machine.
  const flags = ['--heartbeat', '2', '--reattach-grace', '1'];
  let server = await startServer(dir, flags);
  await scheduleJob(server, 'late', 'rho-2', jobScript(out));
  await clientJson(server.remote, ['execute', 'late']);
  const first = startWorker(server.remote, 'rho-2', ['--once']);
  const run = await waitFor('the job to run', async () => (await clientJson(server.remote, ['info'])).running[0]);
  await waitFor('the job to be 1 s in', () => progress(out) >= 2);
  const firstJob = Number(fileLines(join(out, 'starts'))[0]!.split(' ')[1]);
  server.child.kill('SIGKILL');
  await server.exited;
  // The first worker is away (frozen) for longer than the grace; its job goes on.
  first.child.kill('SIGSTOP');
  try {
    server = await startServer(dir, flags, server.port);
    await waitFor('the run to be recorded as lost', () => storedResults(dir, 'late').length === 1);
    startWorker(server.remote, 'rho-2', ['--once']);
    await waitFor('the job to start again elsewhere', () => fileLines(join(out, 'starts')).length === 2);
  } finally {
    first.child.kill('SIGCONT');
  }
  const { code } = await first.exited;
  assert.equal(code, 123, 'the first worker exits 123: its run was given up');
  assert.match(first.err(), /gave up late/);
  await waitFor('the first attempt\'s job to be killed', () => !alive(firstJob));
  await waitFor('the second attempt to be stored', () => storedResults(dir, 'late').length === 2, 20_000);
  const [lost, again] = storedResults(dir, 'late');
  assert.equal(lost!.result.run_id, run.run_id);
  assert.equal(lost!.result.outcome.kind, 'failed');
  assert.match(lost!.result.outcome.message, /did not come back within 1 s/);
  assert.notEqual(again!.result.run_id, run.run_id);
  assert.deepEqual(again!.result.outcome, { kind: 'exited', code: 0 });
  assert.deepEqual(storedConsole(again!.dir), EXPECTED);
  assert.equal(fileLines(join(out, 'starts')).length, 2, 'one start per attempt');
  assert.match(server.err(), /asked to resume run .*told to drop it/);
});

test('a --once worker whose server never comes back gives up once the job is past its timeout: the job is killed, exit 123', async () => {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  const server = await startServer(dir, ['--heartbeat', '1']);
  await scheduleJob(server, 'orphan', 'rho-3', `#!/bin/sh\necho $$ > ${out}/pid\nwhile :; do sleep 0.2; done\n`, ['--period', 'never', '--timeout', '1']);
  await clientJson(server.remote, ['execute', 'orphan']);
  const worker = startWorker(server.remote, 'rho-3', ['--once']);
  await waitFor('the job to run', () => existsSync(join(out, 'pid')) && readFileSync(join(out, 'pid'), 'utf8').trim() !== '');
  const jobPid = Number(readFileSync(join(out, 'pid'), 'utf8').trim());
  server.child.kill('SIGKILL');
  await server.exited;
  // The job's timeout (1 s) plus the worker's slack (15 s): then it stops carrying the job.
  const { code } = await worker.exited;
  assert.equal(code, 123);
  assert.match(worker.err(), /the server was away past the timeout of orphan \(1 s\): it is killed here/);
  await waitFor('the job to be gone', () => !alive(jobPid), 10_000);
});
