import assert from 'node:assert/strict';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { alive, pidFrom, scheduleJob, startServer, startWorker, storedConsole, storedResults, tempDir, waitFor } from './harness.js';

test('a job killed by a signal is reported as signalled N, without artifacts', async () => {
  const server = await startServer(tempDir());
  await scheduleJob(server, 'sig', 'zeta-1', '#!/bin/sh\necho dying\ntouch left-behind\nkill -TERM $$\n', ['--period', 'daily']);
  startWorker(server.remote, 'zeta-1');
  await waitFor('the run to be stored', () => storedResults(server.dir, 'sig').length === 1);
  const r = storedResults(server.dir, 'sig')[0]!.result;
  assert.deepEqual(r.outcome, { kind: 'signalled', signal: 15 });
  assert.deepEqual(r.artifacts, []);
});

test('a script without #! runs under /bin/sh; a non-zero exit still sends its artifacts', async () => {
  const server = await startServer(tempDir());
  await scheduleJob(server, 'plain', 'zeta-2', 'echo "no shebang here"\necho data > out.txt\nexit 3\n', ['--period', 'daily']);
  startWorker(server.remote, 'zeta-2');
  await waitFor('the run to be stored', () => storedResults(server.dir, 'plain').length === 1);
  const { result, dir } = storedResults(server.dir, 'plain')[0]!;
  assert.deepEqual(result.outcome, { kind: 'exited', code: 3 });
  assert.deepEqual(result.artifacts.map((a: { path: string }) => a.path), ['out.txt']);
  assert.deepEqual(storedConsole(dir), ['no shebang here']);
});

test('a worker that cannot write the job files reports the failure as the outcome', async () => {
  const server = await startServer(tempDir());
  // --workdir is checked at start: it breaks after the worker is waiting (a file where the dir was).
  const workdir = join(tempDir(), 'work');
  mkdirSync(workdir);
  const worker = startWorker(server.remote, 'zeta-3', ['--workdir', workdir]);
  await waitFor('the worker to wait', () => /worker \w+ connected/.test(server.err()));
  rmdirSync(workdir);
  writeFileSync(workdir, '');
  await scheduleJob(server, 'nowrite', 'zeta-3', '#!/bin/sh\necho never\n', ['--period', 'daily']);
  await waitFor('the run to be stored', () => storedResults(server.dir, 'nowrite').length === 1);
  const r = storedResults(server.dir, 'nowrite')[0]!.result;
  assert.equal(r.outcome.kind, 'failed');
  assert.match(r.outcome.message, new RegExp(`cannot create the work dir in ${workdir}: not a directory`));
  assert.equal((await worker.exited).code, 0);
});

test('artifacts that cannot be read are logged to the console and skipped; the others arrive', async () => {
  const server = await startServer(tempDir());
  await scheduleJob(server, 'odd', 'zeta-4', '#!/bin/sh\nmkfifo pipe\nln -s /etc/passwd link\necho fine > good.txt\n', ['--period', 'daily']);
  startWorker(server.remote, 'zeta-4');
  await waitFor('the run to be stored', () => storedResults(server.dir, 'odd').length === 1);
  const { result, dir } = storedResults(server.dir, 'odd')[0]!;
  assert.deepEqual(result.outcome, { kind: 'exited', code: 0 });
  assert.deepEqual(result.artifacts.map((a: { path: string }) => a.path), ['good.txt']);
  const lines = storedConsole(dir);
  assert.ok(lines.includes('builder-worker: artifact link is a symbolic link, not a regular file; not sent'), lines.join('\n'));
  assert.ok(lines.includes('builder-worker: artifact pipe is a fifo, not a regular file; not sent'));
});

test('a worker whose server gave its run up while it was away kills the job process group and exits non-zero', async () => {
  const dir = tempDir();
  let server = await startServer(dir);
  const pidFile = `${dir}/bg.pid`;
  await scheduleJob(server, 'chatty', 'zeta-5', `#!/bin/sh\nsleep 300 &\necho $! > ${pidFile}\nwhile true; do echo tick; sleep 0.05; done\n`, ['--period', 'daily']);
  const worker = startWorker(server.remote, 'zeta-5');
  const bg = await pidFrom(pidFile);
  server.child.kill('SIGKILL');
  await server.exited;
  await waitFor('the worker to notice', () => /reconnecting/.test(worker.err()));
  assert.ok(alive(bg), 'the job goes on while the server is away');
  // Restarted without a grace: the run is requeued at once, so the worker's resume is refused.
  server = await startServer(dir, ['--reattach-grace', '0'], server.port);
  const { code } = await worker.exited;
  assert.equal(code, 123);
  assert.match(worker.err(), /gave up chatty/);
  await waitFor('the job process group to be killed', () => !alive(bg));
});

test('in loop mode a worker that loses the server reconnects with back-off and takes the next job', async () => {
  const dir = tempDir();
  let server = await startServer(dir);
  const port = server.port;
  const worker = startWorker(server.remote, 'zeta-6', ['--loop']);
  await waitFor('the worker to connect', () => /connected to/.test(worker.err()));
  server.child.kill('SIGKILL');
  await server.exited;
  await waitFor('the worker to notice', () => /reconnecting/.test(worker.err()));
  server = await startServer(dir, [], port);
  await scheduleJob(server, 'after', 'zeta-6', '#!/bin/sh\necho back\n', ['--period', 'daily']);
  await waitFor('the job to run on the reconnected worker', () => storedResults(dir, 'after').length === 1);
  assert.equal(worker.child.exitCode, null, 'the loop worker keeps running');
});

test('a daemon that leaves the job group holding its output does not hang the worker', async () => {
  const server = await startServer(tempDir());
  // The script waits until the daemon has left its process group, else the worker's kill of the group could catch it first.
  const pidFile = join(tempDir(), 'daemon.pid');
  const script = `#!/bin/sh\nsetsid sh -c 'echo $$ > ${pidFile}; exec sleep 30' &\nwhile [ ! -s ${pidFile} ]; do sleep 0.05; done\necho started a daemon\nexit 0\n`;
  await scheduleJob(server, 'daemon', 'zeta-7', script, ['--period', 'daily']);
  const worker = startWorker(server.remote, 'zeta-7');
  await waitFor('the run to be stored', () => storedResults(server.dir, 'daemon').length === 1);
  const { result, dir } = storedResults(server.dir, 'daemon')[0]!;
  assert.deepEqual(result.outcome, { kind: 'exited', code: 0 });
  assert.ok(storedConsole(dir).some((l) => /output was still held open 2 s after the script ended/.test(l)));
  assert.equal((await worker.exited).code, 0);
  process.kill(await pidFrom(pidFile), 'SIGKILL');
});
