import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { client, clientJson, spawnProgram, startServer, startWorker, stopChild, storedResults, tempDir, waitFor, writeScript } from './harness.js';
import { RawPeer } from './peers.js';

const WORKER_TOKEN = 'worker-9f2c1d7e5b8a4c3f';
const CLIENT_TOKEN = 'client-3b7e0a9d1c6f4e2a';
const WRONG_TOKEN = 'wrong-00000000000000000';

function tokenFiles(): { w: string; c: string; wrong: string } {
  const dir = tempDir('builder-tokens-');
  const file = (name: string, token: string) => {
    writeFileSync(join(dir, name), `${token}\n`, { mode: 0o600 });
    return join(dir, name);
  };
  return { w: file('worker', WORKER_TOKEN), c: file('client', CLIENT_TOKEN), wrong: file('wrong', WRONG_TOKEN) };
}

test('no credential, a wrong one, or the other role\'s are refused: nothing scheduled, nothing dispatched; secrets never logged', async () => {
  const t = tokenFiles();
  const server = await startServer(tempDir(), ['--worker-token-file', t.w, '--client-token-file', t.c]);
  const script = writeScript(tempDir('builder-script-'), 'job.sh', '#!/bin/sh\necho authorised\n');
  const schedule = ['schedule', 'evil', 'auth-1', script, '--period', 'daily'];
  const started = Date.now();
  const refused = await Promise.all([
    client(server.remote, schedule),
    client(server.remote, ['--token-file', t.wrong, ...schedule]),
    client(server.remote, ['--token-file', t.w, ...schedule]),
    client(server.remote, schedule, { BUILDER_TOKEN: WRONG_TOKEN }),
  ]);
  for (const r of refused) {
    assert.equal(r.code, 123, r.err);
    assert.match(r.err, /refused the connection: client credential refused/);
  }
  assert.ok(Date.now() - started >= 900, 'a refusal is answered after a delay');
  assert.ok(!existsSync(join(server.dir, 'schedule', 'evil.json')), 'nothing was scheduled');

  const ok = await client(server.remote, ['--token-file', t.c, 'schedule', 'build', 'auth-1', script, '--period', 'daily']);
  assert.equal(ok.code, 0, ok.err);
  const workers = [
    startWorker(server.remote, 'auth-1'),
    startWorker(server.remote, 'auth-1', ['--token-file', t.wrong]),
    startWorker(server.remote, 'auth-1', ['--token-file', t.c]),
  ];
  for (const w of workers) {
    assert.equal((await w.exited).code, 123, w.err());
    assert.match(w.err(), /worker credential refused/);
  }
  const info = await clientJson(server.remote, ['--token-file', t.c, 'info']);
  assert.deepEqual(info.queues.map((q: any) => q.jobs.map((j: any) => j.name)), [['build']], 'the job is still queued');
  assert.deepEqual(info.running, []);
  assert.deepEqual(info.workers, []);
  assert.equal(storedResults(server.dir, 'build').length, 0, 'nothing was dispatched');

  for (const why of ['client without a credential', 'client with a wrong credential', 'client presented the worker credential', 'worker without a credential', 'worker with a wrong credential', 'worker presented the client credential'])
    assert.match(server.err(), new RegExp(`warn 127\\.0\\.0\\.1:\\d+: refused: ${why}`));

  // A hello that does not parse is quoted in the log: its token must not be.
  const broken = new RawPeer(server.port);
  broken.write(`{"token":"${CLIENT_TOKEN}","type":"hello","role":"client","version":1\n`);
  await waitFor('the broken hello to be refused', () => broken.closed);

  const good = startWorker(server.remote, 'auth-1', ['--token-file', t.w]);
  assert.equal((await good.exited).code, 0, good.err());
  await waitFor('the authorised run to be stored', () => storedResults(server.dir, 'build').length === 1);
  const everything = [server.err(), server.out(), ...refused.map((r) => r.err + r.out), ...workers.map((w) => w.err()), good.err()].join('\n');
  for (const secret of [WORKER_TOKEN, CLIENT_TOKEN, WRONG_TOKEN]) assert.ok(!everything.includes(secret), `${secret.slice(0, 6)}... never printed`);
});

test('a non-loopback address needs credentials or --insecure; the local socket (mode 0600) needs no token', async () => {
  const dir = tempDir();
  const open = spawnProgram('builder-server', ['--ip', '0.0.0.0', '--port', '0', '--dir', dir]);
  assert.equal((await open.exited).code, 124);
  assert.match(open.err(), /^builder-server: refusing to listen on 0\.0\.0\.0 without credentials: .*--worker-token-file .*--client-token-file .*--insecure/);
  assert.equal(open.err().trim().split('\n').length, 1, 'one line');

  const insecure = spawnProgram('builder-server', ['--ip', '0.0.0.0', '--port', '0', '--dir', dir, '--insecure']);
  await waitFor('the --insecure server to listen', () => / listening 0\.0\.0\.0:\d+/.test(insecure.out()));
  await stopChild(insecure.child);

  const t = tokenFiles();
  const socket = join(tempDir('builder-sock-'), 'builder.sock');
  const server = spawnProgram('builder-server', ['--ip', '0.0.0.0', '--port', '0', '--dir', dir, '--worker-token-file', t.w, '--socket', socket]);
  const port = Number((await waitFor('the server to listen', () => / listening 0\.0\.0\.0:(\d+)/.exec(server.out())))[1]);
  assert.equal(statSync(socket).mode & 0o777, 0o600);
  const local = spawnProgram('builder-client', ['--socket', socket, '--json', 'info']);
  assert.equal((await local.exited).code, 0, local.err());
  assert.deepEqual(JSON.parse(local.out()).workers, []);
  // Without --client-token-file, clients over TCP are refused: only the socket serves them.
  const remote = await client(`127.0.0.1:${port}`, ['info'], { BUILDER_TOKEN: CLIENT_TOKEN });
  assert.equal(remote.code, 123);
  assert.match(server.err(), /refused: client over TCP, but clients may only use the local socket/);
  await stopChild(server.child);
  assert.ok(!readdirSync(join(socket, '..')).includes('builder.sock'), 'the socket file is removed at stop');
});
