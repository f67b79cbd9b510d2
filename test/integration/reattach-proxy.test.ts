import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { alive, clientJson, scheduleJob, startServer, startWorker, storedConsole, storedResults, tempDir, waitFor } from './harness.js';
import { fileLines, progress, tickingJob } from './job-trace.js';
import { LoopbackProxy } from './loopback-proxy.js';

// Issue 14: a worker's connection dropping while the server stays up. The
// worker talks to the server through a TCP proxy on loopback that the test
// cuts (every connection destroyed) and can hold down (new connections
// refused), as a network outage would; clients talk to the server directly.

const proxies: LoopbackProxy[] = [];
after(() => proxies.forEach((p) => p.close()));


/** N lines, one every `pause` s; notes its start (with its pid) and progress outside its work dir. */
function jobScript(out: string, n: number, pause: string): string {
  return tickingJob(out, { lines: n, pause, start: 'start' });
}

async function proxied(port: number): Promise<{ proxy: LoopbackProxy; remote: string }> {
  const proxy = new LoopbackProxy(port);
  proxies.push(proxy);
  return { proxy, remote: await proxy.listen() };
}

test('a worker connection cut twice while the job prints: the worker reconnects and resumes, one result, every line once and in order, the job started once', async () => {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  const server = await startServer(dir, ['--heartbeat', '1', '--reattach-grace', '20']);
  const { proxy, remote } = await proxied(server.port);
  await scheduleJob(server, 'chatty', 'cut-1', jobScript(out, 40, '0.1'));
  await clientJson(server.remote, ['execute', 'chatty']);
  const worker = startWorker(remote, 'cut-1', ['--once']);
  await waitFor('the job to be under way', () => progress(out) >= 8);
  proxy.cut();
  await waitFor('the worker to reconnect', () => proxy.connections >= 2, 10_000);
  await waitFor('the job to be further', () => progress(out) >= 20);
  proxy.cut();
  const { code } = await worker.exited;
  assert.equal(code, 0, `the worker reported the run: ${worker.err()}`);
  assert.ok(proxy.connections >= 3, 'the worker came back after each cut');
  await waitFor('the result to be stored', () => storedResults(dir, 'chatty').length === 1);
  const [only] = storedResults(dir, 'chatty');
  assert.deepEqual(only!.result.outcome, { kind: 'exited', code: 0 });
  assert.deepEqual(storedConsole(only!.dir), Array.from({ length: 40 }, (_, i) => `line ${i + 1}`), 'every line once and in order');
  assert.equal(fileLines(join(out, 'starts')).length, 1, 'the job started once');
  assert.equal(storedResults(dir, 'chatty').length, 1, 'one result');
  assert.match(server.err(), /resumed the run from line \d+/);
});

test('a worker cut off for longer than --reattach-grace: the run is lost and requeued, the worker is told run_gone and kills its job, the next attempt runs elsewhere', async () => {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  const server = await startServer(dir, ['--heartbeat', '2', '--reattach-grace', '1']);
  const { proxy, remote } = await proxied(server.port);
  await scheduleJob(server, 'stranded', 'cut-2', jobScript(out, 16, '0.5'));
  await clientJson(server.remote, ['execute', 'stranded']);
  const first = startWorker(remote, 'cut-2', ['--once']);
  const run = await waitFor('the job to run', async () => (await clientJson(server.remote, ['info'])).running[0]);
  await waitFor('the job to be under way', () => progress(out) >= 2);
  const firstJob = Number(fileLines(join(out, 'starts'))[0]!.split(' ')[1]);
  proxy.cut(true);
  await waitFor('the run to be recorded as lost', () => storedResults(dir, 'stranded').length === 1);
  assert.ok(alive(firstJob), 'the job went on meanwhile on the cut-off worker');
  proxy.restore();
  const { code } = await first.exited;
  assert.equal(code, 123, `the cut-off worker exits 123: ${first.err()}`);
  assert.match(first.err(), /gave up stranded/);
  await waitFor('the first attempt\'s job to be killed', () => !alive(firstJob));
  const second = startWorker(server.remote, 'cut-2', ['--once']);
  assert.equal((await second.exited).code, 0, second.err());
  await waitFor('the second attempt to be stored', () => storedResults(dir, 'stranded').length === 2);
  const [lost, again] = storedResults(dir, 'stranded');
  assert.equal(lost!.result.run_id, run.run_id);
  assert.match(lost!.result.outcome.message, /did not come back within 1 s/);
  assert.notEqual(again!.result.run_id, run.run_id);
  assert.deepEqual(again!.result.outcome, { kind: 'exited', code: 0 });
  assert.deepEqual(storedConsole(again!.dir), Array.from({ length: 16 }, (_, i) => `line ${i + 1}`));
  assert.equal(fileLines(join(out, 'starts')).length, 2, 'one start per attempt');
  assert.match(server.err(), /asked to resume run .*told to drop it/);
});
