import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alive, clientJson, pidFrom, scheduleJob, startServer, startWorker, storedResults, tempDir, waitFor } from './harness.js';

async function runningRun(remote: string) {
  return waitFor('the job to run', async () => (await clientJson(remote, ['info'])).running[0]);
}

async function queuedNames(remote: string): Promise<string[]> {
  const info = await clientJson(remote, ['info']);
  return info.queues.flatMap((q: { jobs: { name: string }[] }) => q.jobs.map((j) => j.name));
}

test('a worker killed mid-job is noticed by its dropped connection: the run is recorded as lost and the job requeued', async () => {
  const server = await startServer(tempDir(), ['--reattach-grace', '1']);
  await scheduleJob(server, 'victim', 'delta-1', '#!/bin/sh\necho working\nsleep 30\n', ['--period', 'daily']);
  const worker = startWorker(server.remote, 'delta-1');
  const run = await runningRun(server.remote);
  worker.child.kill('SIGKILL');
  await waitFor('the lost run to be stored', () => storedResults(server.dir, 'victim').length === 1);
  const [lost] = storedResults(server.dir, 'victim');
  assert.equal(lost!.result.run_id, run.run_id);
  assert.equal(lost!.result.outcome.kind, 'failed');
  assert.match(lost!.result.outcome.message, /worker lost: connection closed/);
  assert.deepEqual(await queuedNames(server.remote), ['victim'], 'the job waits again for a worker');
  // The next worker gets the requeued job as a new attempt with its own run id.
  startWorker(server.remote, 'delta-1');
  const second = await runningRun(server.remote);
  assert.notEqual(second.run_id, run.run_id);
});

test('a worker that goes silent (no heartbeats, connection open) is noticed by heartbeat expiry and its job requeued', async () => {
  const server = await startServer(tempDir(), ['--heartbeat', '0.3']);
  await scheduleJob(server, 'silent', 'delta-2', '#!/bin/sh\necho working\nsleep 30\n', ['--period', 'daily']);
  const worker = startWorker(server.remote, 'delta-2');
  await runningRun(server.remote);
  worker.child.kill('SIGSTOP'); // a frozen host or a silent network: the socket stays open
  try {
    await waitFor('the silent run to be stored', () => storedResults(server.dir, 'silent').length === 1);
    assert.match(storedResults(server.dir, 'silent')[0]!.result.outcome.message, /no heartbeat/);
    assert.deepEqual(await queuedNames(server.remote), ['silent']);
  } finally {
    worker.child.kill('SIGKILL');
  }
});

test('retries are capped: a job that always loses its worker is recorded as failed and waits for its next due time', async () => {
  const server = await startServer(tempDir(), ['--retries', '1', '--reattach-grace', '0']);
  await scheduleJob(server, 'doomed', 'delta-3', '#!/bin/sh\necho working\nsleep 30\n', ['--period', 'daily']);
  for (let attempt = 1; attempt <= 2; attempt++) {
    const worker = startWorker(server.remote, 'delta-3');
    await runningRun(server.remote);
    worker.child.kill('SIGKILL');
    await waitFor(`attempt ${attempt} to be stored`, () => storedResults(server.dir, 'doomed').length === attempt);
  }
  const results = storedResults(server.dir, 'doomed');
  assert.doesNotMatch(results[0]!.result.outcome.message, /gave up/);
  assert.match(results[1]!.result.outcome.message, /gave up after 2 attempts/);
  assert.deepEqual(await queuedNames(server.remote), [], 'not requeued a third time');
  const info = await clientJson(server.remote, ['info']);
  assert.ok(Date.parse(info.schedule[0].next) > Date.now() + 3600_000, 'it waits for its next due time');
});

test('a job that outlives its timeout has its whole process group killed and is recorded as timed out', async () => {
  const dir = tempDir();
  const server = await startServer(dir, ['--retries', '0']);
  const pidFile = `${dir}/child.pid`;
  await scheduleJob(server, 'hang', 'delta-4', `#!/bin/sh\nsleep 300 &\necho $! > ${pidFile}\necho waiting\nwait\n`, ['--period', 'daily', '--timeout', '1']);
  startWorker(server.remote, 'delta-4');
  await waitFor('the timed-out run to be stored', () => storedResults(dir, 'hang').length === 1, 20000);
  const [r] = storedResults(dir, 'hang');
  assert.equal(r!.result.outcome.kind, 'failed');
  assert.match(r!.result.outcome.message, /timed out after 1 s/);
  const childPid = await pidFrom(pidFile);
  await waitFor('the background child to be killed', () => !alive(childPid));
});
