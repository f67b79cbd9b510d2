import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { clientJson, scheduleJob, spawnProgram, startServer, startWorker, storedResults, tempDir, waitFor } from './harness.js';

test('a busy --loop worker of a platform dropped while it runs reports its run, then is told and exits 123', async () => {
  const server = await startServer(tempDir());
  const flag = join(tempDir(), 'go');
  await scheduleJob(server, 'busy', 'mu-1', `#!/bin/sh\necho started\nwhile [ ! -e ${flag} ]; do sleep 0.05; done\necho done\n`, ['--period', 'never']);
  await clientJson(server.remote, ['execute', 'busy']);
  const worker = startWorker(server.remote, 'mu-1', ['--loop']);
  await waitFor('the job to run', async () => (await clientJson(server.remote, ['info'])).running.length === 1);
  const r = await clientJson(server.remote, ['drop-platform', 'mu-1']);
  assert.match(r.message, /0 waiting workers told/, 'a busy worker is not waiting');
  writeFileSync(flag, '');
  const { code } = await worker.exited;
  assert.equal(code, 123, 'the worker exits once it asks for its next job');
  assert.match(worker.err(), /platform mu-1 was dropped on this server/);
  // Storing takes its fsyncs after the worker's report: the worker may be gone first.
  const [stored] = await waitFor('the run to be stored', () => (storedResults(server.dir, 'busy').length === 1 ? storedResults(server.dir, 'busy') : null));
  assert.deepEqual(stored?.result.outcome, { kind: 'exited', code: 0 }, 'the run in progress finished and was stored');
});

test('--heartbeat must be a positive number of seconds: -1 and 0 are bad usage', async () => {
  for (const bad of ['--heartbeat=-1', '--heartbeat=0']) {
    const p = spawnProgram('builder-server', ['--port', '0', '--dir', tempDir(), bad]);
    const { code } = await p.exited;
    assert.equal(code, 124, `${bad}: ${p.err()}`);
    assert.match(p.err(), /--heartbeat must be a number of seconds from 0\.1 to 3600/);
  }
});

test('a hello of another protocol version is refused naming both versions, whatever its other fields are', async () => {
  const server = await startServer(tempDir());
  const reply = await new Promise<string>((resolve, reject) => {
    const s = net.connect(server.port, '127.0.0.1', () => s.write(JSON.stringify({ type: 'hello', role: 'worker', version: 2, agent: { kind: 'future' } }) + '\n'));
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('close', () => resolve(got));
    s.on('error', reject);
  });
  const failure = JSON.parse(reply.split('\n')[0]!);
  assert.equal(failure.type, 'failure');
  assert.equal(failure.code, 'version_mismatch');
  assert.match(failure.message, /you speak 2, this server speaks 1/);
  assert.ok(existsSync(server.dir));
});
