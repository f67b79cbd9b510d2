import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientJson, scheduleJob, startServer, storedResults, tempDir, waitFor } from './harness.js';
import { RawPeer, workerHello } from './peers.js';

test('garbage, an over-long line or a wrong protocol version get one error line and a close; others are still served', async () => {
  const server = await startServer(tempDir());

  const garbage = new RawPeer(server.port);
  garbage.write('this is not json\n');
  await waitFor('the garbage peer to be closed', () => garbage.closed);
  assert.equal(garbage.lines()[0].type, 'failure');
  assert.match(garbage.lines()[0].message, /not JSON/);

  const long = new RawPeer(server.port);
  long.write(Buffer.alloc(2 * 1024 * 1024, 'x'));
  await waitFor('the over-long peer to be closed', () => long.closed);
  assert.match(long.lines()[0].message, /longer than/);

  const old = new RawPeer(server.port);
  old.send({ type: 'hello', role: 'client', version: 99 });
  await waitFor('the wrong-version peer to be closed', () => old.closed);
  assert.match(old.lines()[0].message, /protocol version mismatch: you speak 99, this server speaks 1/);

  const worker = new RawPeer(server.port);
  worker.send(workerHello('eps-1'));
  worker.send({ type: 'job_requested' });
  worker.write('{"type":"output","run_id":42}\n');
  await waitFor('the bad worker to be closed', () => worker.closed);
  assert.match(worker.lines().at(-1).message, /run_id/);

  const info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.workers, [], 'the server is up and forgot the bad worker');
  assert.equal(server.child.exitCode, null);
});

test('a result from a stale attempt is rejected: a run is never recorded twice', async () => {
  const server = await startServer(tempDir(), ['--heartbeat', '0.3']);
  await scheduleJob(server, 'stale', 'eps-2', '#!/bin/sh\necho hi\n', ['--period', 'daily']);
  const first = new RawPeer(server.port);
  first.send(workerHello('eps-2'));
  first.send({ type: 'job_requested' });
  const job = await waitFor('the job to reach the first worker', () => first.lines().find((m) => m.type === 'job'));
  // The first worker goes silent: the server gives its attempt up and requeues.
  await waitFor('the attempt to be recorded as lost', () => storedResults(server.dir, 'stale').length === 1);
  const second = new RawPeer(server.port);
  second.send(workerHello('eps-2'));
  second.send({ type: 'output', run_id: job.run_id, t: 1, line: 'forged' });
  second.send({ type: 'job_finished', run_id: job.run_id, outcome: { kind: 'exited', code: 0 } });
  second.send({ type: 'job_requested' });
  const retry = await waitFor('the requeued job to reach the second worker', () => second.lines().find((m) => m.type === 'job'));
  assert.notEqual(retry.run_id, job.run_id, 'the retry is a new attempt');
  second.send({ type: 'job_finished', run_id: retry.run_id, outcome: { kind: 'exited', code: 0 } });
  await waitFor('the retry to be stored', () => storedResults(server.dir, 'stale').length === 2);
  const results = storedResults(server.dir, 'stale');
  assert.equal(results.filter((r) => r.result.run_id === job.run_id).length, 1);
  assert.equal(results.find((r) => r.result.run_id === job.run_id)!.result.outcome.kind, 'failed', 'the forged success did not replace it');
  assert.match(server.err(), /stale attempt/);
  first.socket.destroy();
  second.socket.destroy();
});
