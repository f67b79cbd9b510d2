import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { clientJson, DIST, ROOT, scheduleJob, spawnProgram, startServer, startWorker, stopChild, storedResults, tempDir, waitFor } from './harness.js';

// The operator's day with the daemons (issue 16): start-up errors that point the way,
// workers that stop when told and are not lost for a frozen server's sake.

const asNobody = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv');

test('the server on a spool it cannot write: one line naming it and what to do, exit 123; it logs the spool it opened', async (t) => {
  const parent = tempDir();
  const dir = join(parent, 'spool');
  let child;
  if (asNobody) {
    chmodSync(parent, 0o700); // root's: nobody cannot make the spool in it
    child = spawn('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(DIST, 'builder-server.cjs'), '--port', '0', '--dir', dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  } else if (process.getuid?.() !== 0) {
    chmodSync(parent, 0o500);
    child = spawn(process.execPath, [join(DIST, 'builder-server.cjs'), '--port', '0', '--dir', dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  } else return t.skip('root without setpriv: cannot run the server as another user');
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const code = await new Promise((r) => child.once('close', r));
  assert.equal(code, 123, err);
  assert.match(err, new RegExp(`^builder-server: cannot use the spool ${dir}: permission denied \\(.*\\) for user \\S+; run as the user who owns it \\(e.g. builder\\), or give --dir DIR\\n$`));

  const ok = await startServer(join(tempDir(), 'fresh'));
  assert.match(ok.err(), new RegExp(`spool ${ok.dir}`));
});

test('a worker with a bad --workdir exits 124 at start, before it connects', async () => {
  const server = await startServer(tempDir());
  const file = join(tempDir(), 'not-a-dir');
  writeFileSync(file, '');
  for (const [workdir, why] of [
    [join(tempDir(), 'missing'), /--workdir \S+ cannot hold the jobs' work dirs: no such file or directory/],
    [file, /--workdir \S+ is not a directory/],
  ] as const) {
    const w = startWorker(server.remote, 'wd-1', ['--workdir', workdir]);
    assert.equal((await w.exited).code, 124, w.err());
    assert.match(w.err(), why);
  }
  assert.doesNotMatch(server.err(), /worker \w+ connected/, 'neither connected');
  const good = tempDir();
  await scheduleJob(server, 'wd', 'wd-1', '#!/bin/sh\npwd\n', ['--period', 'daily']);
  const w = startWorker(server.remote, 'wd-1', ['--workdir', good]);
  assert.equal((await w.exited).code, 0, w.err());
  const stored = await waitFor('the result', () => storedResults(server.dir, 'wd')[0]);
  assert.deepEqual(stored.result.outcome, { kind: 'exited', code: 0 });
});

test('SIGTERM: a reconnecting --loop worker stops at once, and an idle worker does not claim to kill a job', async () => {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const w = spawnProgram('builder-worker', ['sig-1', '--remote', `127.0.0.1:${port}`, '--loop']);
  // Back-off doubles from 0.25 s: wait until the worker sits in a 4 s one.
  await waitFor('a long back-off', () => /reconnecting in 4\.0 s/.test(w.err()), 20000);
  w.child.kill('SIGTERM');
  // Well before the back-off ends (a timed limit on purpose: waiting it out is the bug).
  await waitFor('the worker to exit', () => w.child.exitCode !== null, 2000);
  assert.equal(w.child.exitCode, 0);
  assert.match(w.err(), /builder-worker: SIGTERM: stopping \(no job was running\)\n/);

  const server = await startServer(tempDir());
  const idle = startWorker(server.remote, 'sig-1', ['--loop']);
  await waitFor('the worker to wait', async () => (await clientJson(server.remote, ['info'])).workers.length === 1);
  idle.child.kill('SIGTERM');
  await idle.exited;
  assert.match(idle.err(), /SIGTERM: stopping \(no job was running\)/);
  assert.doesNotMatch(idle.err(), /killed/);

  await scheduleJob(server, 'busy', 'sig-1', '#!/bin/sh\necho on\nsleep 60\n', ['--period', 'daily']);
  const busy = startWorker(server.remote, 'sig-1');
  await waitFor('the run', async () => (await clientJson(server.remote, ['info'])).running.length === 1);
  busy.child.kill('SIGTERM');
  await busy.exited;
  assert.match(busy.err(), /SIGTERM: stopping \(killing busy; the server requeues it\)/);
});

test('a server frozen past the heartbeat limit keeps a worker whose heartbeats waited in its socket', async () => {
  const server = await startServer(tempDir(), ['--heartbeat', '1']);
  // A worker that keeps beating whatever the server does (the real worker gives up on a silent
  // server after 3 periods too, which is right for it, but not what is tested here).
  const sock = net.connect(server.port, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  let got = '';
  sock.on('data', (d) => (got += d));
  const facts = { platform: 'frz-1', hostname: 'h', os: 'Linux', release: '6', arch: 'x64', cpus: 1, memory: 1, version: 'test' };
  sock.write(JSON.stringify({ type: 'hello', role: 'worker', version: 1, worker: facts }) + '\n');
  await waitFor('the welcome', () => got.includes('"welcome"'));
  sock.write('{"type":"job_requested"}\n');
  const beat = setInterval(() => sock.write('{"type":"heartbeat"}\n'), 200);
  try {
    await waitFor('the worker to be registered', async () => (await clientJson(server.remote, ['info'])).workers.length === 1);
    server.child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 4500)); // the freeze itself: longer than 3 heartbeats
    server.child.kill('SIGCONT');
    const info = await clientJson(server.remote, ['info']);
    assert.equal(info.workers.length, 1, `still connected; server log:\n${server.err()}`);
    assert.doesNotMatch(server.err(), /no heartbeat for/);
  } finally {
    clearInterval(beat);
    server.child.kill('SIGCONT');
    sock.destroy();
  }
  await stopChild(server.child);
});
