import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { client, clientJson, scheduleJob, startServer, startWorker, storedResults, tempDir, waitFor } from './harness.js';
import { RawPeer, workerHello } from './peers.js';

// Bounded resources: an observer that stops reading is dropped to a
// resumable line; a client silent inside schedule --from is closed; a
// worker's messages about runs it does not own are not logged one by one.

test('an observer that leaves its console unread is dropped with the line to resume from; --from resumes there', async () => {
  // 3 s: the observer that reads (builder-client, at low CPU priority on a busy host) must never look stalled.
  const server = await startServer(tempDir(), ['--client-idle-timeout', '3']);
  // 30 MB of console: more than the socket buffers between the server and a reader that stopped.
  await scheduleJob(server, 'loud', 'bo-1', "#!/bin/sh\nyes 'a line of console output that is about one hundred bytes long, give or take a few bytes.' | head -n 300000\n");
  startWorker(server.remote, 'bo-1');
  await clientJson(server.remote, ['execute', 'loud']);
  await waitFor('the run', () => storedResults(server.dir, 'loud').length === 1, 60000);
  const id = storedResults(server.dir, 'loud')[0]!.result.run_id;

  const peer = new RawPeer(server.port);
  peer.send({ type: 'hello', role: 'client', version: 1 });
  peer.send({ type: 'observe', run_id: id, from: 0 });
  peer.socket.pause();
  await waitFor('the server to give up on the observer', () => /observer too slow/.test(server.err()), 20000);
  peer.socket.resume();
  await waitFor('the stream to end', () => peer.closed, 20000);
  const lines = peer.lines();
  const last = lines.at(-1);
  assert.equal(last.type, 'failure');
  assert.equal(last.code, 'slow_observer');
  const from = Number(/resume with --from (\d+)$/.exec(last.message)?.[1]);
  const outputs = lines.filter((l) => l.type === 'output');
  assert.ok(from > 0 && from < 300000, `resume at ${from}`);
  assert.deepEqual(
    outputs.slice(0, from).map((l) => l.n),
    Array.from({ length: from }, (_, i) => i),
    'every line before the resume point arrived, in order',
  );

  const rest = await client(server.remote, ['--json', 'observe', id, '--from', String(from)]);
  assert.equal(rest.code, 0, rest.err.slice(-500));
  const got = rest.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(got[0].n, from);
  assert.equal(got.filter((l) => l.n !== undefined).length, 300000 - from);
});

test('a client silent inside schedule --from is closed after --client-idle-timeout; nothing is scheduled, no stage is left', async () => {
  const server = await startServer(tempDir(), ['--client-idle-timeout', '1']);
  const peer = new RawPeer(server.port);
  peer.send({ type: 'hello', role: 'client', version: 1 });
  peer.send({ type: 'schedule_batch', count: 3 });
  peer.send({ type: 'schedule', job: { name: 'one', platform: 'bo-2', script: '#!/bin/sh\n', period: 'never' } });
  await waitFor('the server to close the silent client', () => peer.closed, 10000);
  const reply = peer.lines().find((l) => l.type === 'failure');
  assert.match(reply.message, /job 2 of 3: .*nothing received for 1 s \(--client-idle-timeout\).*nothing was scheduled/);
  assert.deepEqual((await clientJson(server.remote, ['info'])).schedule, []);
  await waitFor('the stage to be removed', () => readdirSync(join(server.dir, 'tmp')).length === 0);
});

test("a worker's flood of messages about a run it does not own is logged a few times, not once per message", async () => {
  const server = await startServer(tempDir());
  const peer = new RawPeer(server.port);
  peer.send(workerHello('bo-3'));
  const stale = '00000000-0000-4000-8000-000000000000';
  let text = '';
  for (let i = 0; i < 5000; i++) text += JSON.stringify({ type: 'output', run_id: stale, t: i, line: `x${i}` }) + '\n';
  peer.write(text);
  peer.send({ type: 'job_finished', run_id: stale, outcome: { kind: 'exited', code: 0 } });
  peer.send({ type: 'job_requested' });
  // The server is still in step with the worker: it lists it as waiting.
  await waitFor('the worker to be listed', async () => (await clientJson(server.remote, ['info'])).workers.length === 1);
  await waitFor('the messages to be read', () => /not its current run/.test(server.err()));
  const logged = server.err().split('\n').filter((l) => /not its current run/.test(l));
  assert.ok(logged.length <= 2, `${logged.length} log lines`);
  peer.socket.destroy();
});
