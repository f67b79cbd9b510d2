import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientJson, scheduleJob, spawnProgram, startServer, startWorker, tempDir, waitFor, type TestServer } from './harness.js';
import { progress, tickingJob } from './job-trace.js';

// Issue 14: an observer following a run across a server restart reconnects
// on its own and goes on from the line after the last one it printed.

function jobScript(out: string): string {
  return tickingJob(out, { lines: 16, pause: '0.5' });
}

const EXPECTED = Array.from({ length: 16 }, (_, i) => `line ${i + 1}`);
const printed = (text: string): string[] => text.split('\n').filter((l) => l !== '');

/** Schedules `name` on `platform`, runs it at once on a --once worker, and resolves when it runs. */
async function runningJob(server: TestServer, name: string, platform: string, script: string) {
  await scheduleJob(server, name, platform, script);
  await clientJson(server.remote, ['execute', name]);
  const worker = startWorker(server.remote, platform, ['--once']);
  const run = await waitFor('the job to run', async () => (await clientJson(server.remote, ['info'])).running[0]);
  return { worker, run };
}

/** The line numbers an observer printed with --json are 0, 1, ... each once; returns the next one. */
function printedEachOnce(out: string): number {
  const lines = printed(out).map((l) => JSON.parse(l) as { n: number });
  const next = lines.at(-1)!.n + 1;
  assert.deepEqual(lines.map((l) => l.n), Array.from({ length: next }, (_, i) => i), 'the lines it printed, each once');
  return next;
}

for (const [signal, command] of [['SIGKILL', 'observe'], ['SIGTERM', 'observe'], ['SIGKILL', 'observe-latest']] as const) {
  test(`${command} across a server ${signal}ed and restarted mid-run prints every line once and in order and exits 0 with the result`, async () => {
    const dir = tempDir();
    const out = tempDir('builder-job-out-');
    const flags = ['--heartbeat', '1', '--reattach-grace', '20'];
    let server = await startServer(dir, flags);
    const { worker, run } = await runningJob(server, 'watched', `obs-${signal}-${command}`, jobScript(out));
    const observer = spawnProgram('builder-client', ['--remote', server.remote, ...(command === 'observe' ? ['observe', run.run_id] : ['observe-latest', '--job', 'watched'])]);
    await waitFor('the observer to print 3 lines', () => printed(observer.out()).length >= 3);
    server.child.kill(signal);
    await server.exited;
    await waitFor('the job to be 2 s further', () => progress(out) >= 8);
    assert.equal(observer.child.exitCode, null, 'the observer waits for the server');
    server = await startServer(dir, flags, server.port);
    const { code } = await observer.exited;
    assert.equal(code, 0, `the observer got the result: ${observer.err()}`);
    assert.deepEqual(printed(observer.out()), EXPECTED, 'every line once and in order');
    assert.match(observer.err(), /reconnecting in [\d.]+ s to go on from line \d+/);
    assert.match(observer.err(), new RegExp(`${run.run_id}: exited 0`));
    assert.equal((await worker.exited).code, 0, worker.err());
  });
}

test('an observer whose server stays away past --reconnect-for gives up with exit 123 and the line to resume from', async () => {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  const server = await startServer(dir, ['--heartbeat', '1', '--reattach-grace', '20']);
  const { run } = await runningJob(server, 'abandoned', 'obs-3', jobScript(out));
  const observer = spawnProgram('builder-client', ['--remote', server.remote, '--json', 'observe', run.run_id, '--reconnect-for', '1']);
  await waitFor('the observer to print 2 lines', () => printed(observer.out()).length >= 2);
  server.child.kill('SIGKILL');
  const { code } = await observer.exited;
  assert.equal(code, 123, observer.err());
  const next = printedEachOnce(observer.out());
  const last = printed(observer.err()).at(-1)!;
  assert.match(last, new RegExp(`did not take the observer back within 1 s \\(--reconnect-for\\): resume with: builder-client observe ${run.run_id} --from ${next}$`));
});

test('observe --reconnect-for 0 keeps the old behaviour: a server restart ends the observer with exit 123', async () => {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  const server = await startServer(dir, ['--heartbeat', '1', '--reattach-grace', '20']);
  const { run } = await runningJob(server, 'once-only', 'obs-4', jobScript(out));
  const observer = spawnProgram('builder-client', ['--remote', server.remote, 'observe', run.run_id, '--reconnect-for', '0']);
  await waitFor('the observer to print a line', () => printed(observer.out()).length >= 1);
  server.child.kill('SIGTERM');
  const { code } = await observer.exited;
  assert.equal(code, 123, observer.err());
  assert.match(observer.err(), /ended without an outcome/);
  assert.doesNotMatch(observer.err(), /reconnecting/);
});

test('an observer of a quiet run is kept alive by the server\'s heartbeats: no reconnect while the job prints nothing for 4 heartbeats', async () => {
  const dir = tempDir();
  const server = await startServer(dir, ['--heartbeat', '1']);
  // Silent for 4.5 s, longer than the 3 heartbeats after which an observer gives a silent server up.
  const { run } = await runningJob(server, 'quiet', 'obs-6', '#!/bin/sh\necho before\nsleep 4.5\necho after\n');
  const observer = spawnProgram('builder-client', ['--remote', server.remote, 'observe', run.run_id]);
  const { code } = await observer.exited;
  assert.equal(code, 0, observer.err());
  assert.deepEqual(printed(observer.out()), ['before', 'after']);
  assert.doesNotMatch(observer.err(), /reconnecting|sent nothing/, 'the heartbeats kept the connection');
});

test('an observer of a frozen server (SIGSTOP) notices the missing heartbeats, and gives up after --reconnect-for with exit 123 and the line to resume from', async () => {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  const server = await startServer(dir, ['--heartbeat', '1', '--reattach-grace', '20']);
  const { run } = await runningJob(server, 'frozen', 'obs-7', jobScript(out));
  const observer = spawnProgram('builder-client', ['--remote', server.remote, '--reply-timeout', '1', '--json', 'observe', run.run_id, '--reconnect-for', '2']);
  await waitFor('the observer to print 2 lines', () => printed(observer.out()).length >= 2);
  // Frozen, not gone: the kernel still accepts connections and keeps the socket open; nothing answers.
  server.child.kill('SIGSTOP');
  try {
    const { code } = await observer.exited;
    assert.equal(code, 123, observer.err());
  } finally {
    server.child.kill('SIGCONT');
  }
  assert.match(observer.err(), /sent nothing for [\d.]+ s \(3 heartbeats\): the server froze or the network is down; reconnecting/);
  const next = printedEachOnce(observer.out());
  assert.match(printed(observer.err()).at(-1)!, new RegExp(`within 2 s \\(--reconnect-for\\): resume with: builder-client observe ${run.run_id} --from ${next}$`));
});
