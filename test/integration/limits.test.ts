import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientJson, scheduleJob, startServer, startWorker, storedConsole, storedResults, tempDir, waitFor } from './harness.js';
import { RawPeer } from './peers.js';

test('a run over its artifact count, artifact bytes or console size is stored as failed, saying which limit, with what fitted', async () => {
  const server = await startServer(tempDir(), ['--max-artifacts', '2', '--max-artifact-bytes', '1000', '--max-console-bytes', '2000']);
  const jobs: Record<string, string> = {
    many: 'for f in a b c; do echo $f > $f; done',
    big: 'head -c 600 /dev/zero > a; head -c 600 /dev/zero > b',
    chatty: 'i=0; while [ $i -lt 200 ]; do echo "line $i of a console that is far too long"; i=$((i+1)); done',
    fits: 'echo small > a; echo fits',
  };
  for (const [name, body] of Object.entries(jobs)) await scheduleJob(server, name, 'lim-1', `#!/bin/sh\n${body}\n`, ['--period', 'daily']);
  const worker = startWorker(server.remote, 'lim-1', ['--loop']);
  const result = async (name: string) => (await waitFor(`${name} to be stored`, () => storedResults(server.dir, name)[0], 30000));

  const many = await result('many');
  assert.deepEqual(many.result.outcome, { kind: 'failed', message: 'exited 0, but more than 2 artifacts (--max-artifacts); the rest was discarded' });
  assert.deepEqual(many.result.artifacts.map((a: any) => a.path), ['a', 'b']);
  const big = await result('big');
  assert.equal(big.result.outcome.message, 'exited 0, but artifacts exceed the limit of 1000 bytes (--max-artifact-bytes); the rest was discarded');
  assert.deepEqual(big.result.artifacts.map((a: any) => a.path), ['a']);
  assert.ok(storedConsole(big.dir).some((l) => /^builder-server: artifact b refused: artifacts exceed the limit/.test(l)));
  const chatty = await result('chatty');
  assert.match(chatty.result.outcome.message, /^exited 0, but console exceeds the limit of 2000 bytes \(--max-console-bytes\)/);
  const lines = storedConsole(chatty.dir);
  assert.ok(lines.length < 60, `the console was cut (${lines.length} lines kept)`);
  assert.match(lines.at(-1)!, /^builder-server: console exceeds the limit of 2000 bytes .*further output discarded/);
  const fits = await result('fits');
  assert.deepEqual(fits.result.outcome, { kind: 'exited', code: 0 });
  assert.equal(worker.child.exitCode, null, 'the worker keeps serving');
});

test('connections per address and the time to say hello are limited', async () => {
  const server = await startServer(tempDir(), ['--max-connections-per-address', '3', '--hello-timeout', '1']);
  const silent = [new RawPeer(server.port), new RawPeer(server.port), new RawPeer(server.port)];
  await waitFor('the three silent peers to be accepted', () => silent.every((p) => p.socket.readyState === 'open'));
  const extra = new RawPeer(server.port);
  await waitFor('the fourth connection to be refused', () => extra.closed);
  assert.match(extra.lines()[0].message, /too many connections from 127\.0\.0\.1 \(the limit is 3\)/);
  for (const p of silent) await waitFor('a silent peer to be closed after the hello timeout', () => p.closed, 5000);
  assert.match(silent[0]!.lines()[0].message, /no hello within 1 s/);
  // Their slots are free again.
  const info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.workers, []);
  assert.match(server.err(), /more than 3 connections from this address; refused one \(--max-connections-per-address\)/);
  // A client that says hello and then nothing is closed too.
  const idle = new RawPeer(server.port);
  idle.send({ type: 'hello', role: 'client', version: 1 });
  await waitFor('the idle client to be closed', () => idle.closed, 5000);
  assert.match(idle.lines().at(-1).message, /no command within 1 s/);
});
