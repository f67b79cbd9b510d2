import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { clientJson, scheduleJob, startServer, startWorker, storedConsole, storedResults, tempDir, waitFor } from './harness.js';
import { fileLines, progress, tickingJob } from './job-trace.js';

// Issue 14: an upgrade keeps builds running. The package's upgrade sends the
// workers SIGHUP (systemctl reload): a worker finishes its job, reports it
// with its artifacts, takes no new job and exits 75, which its supervisor
// answers by starting it again (on the new binary).


/** A job that notes its start and its end outside its work dir, prints 12 lines over 3 s and leaves one artifact. */
function jobScript(out: string, name: string): string {
  return tickingJob(out, { lines: 12, pause: '0.25', start: name, tail: `echo built > made.txt\necho "${name}" >> ${out}/ends\n` });
}

test('SIGHUP during a job: the job finishes and is reported once with its artifact, no queued job is taken, then the worker exits 75', async () => {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  const server = await startServer(dir, ['--heartbeat', '1']);
  await scheduleJob(server, 'long', 'hup-1', jobScript(out, 'long'));
  await scheduleJob(server, 'next', 'hup-1', jobScript(out, 'next'));
  await clientJson(server.remote, ['execute', 'long']);
  const worker = startWorker(server.remote, 'hup-1', ['--loop']);
  await waitFor('the job to be under way', () => progress(out) >= 2);
  // A second job waits in the queue: a draining worker must leave it there.
  await clientJson(server.remote, ['execute', 'next']);
  worker.child.kill('SIGHUP');
  await waitFor('the worker to say it drains', () => /SIGHUP: draining \(finishing long/.test(worker.err()));
  const { code } = await worker.exited;
  assert.equal(code, 75, `the worker exits 75 after draining: ${worker.err()}`);
  assert.deepEqual(fileLines(join(out, 'ends')), ['long'], 'the worker exited only after the job had ended');
  await waitFor('the result to be stored', () => storedResults(dir, 'long').length === 1);
  const [only] = storedResults(dir, 'long');
  assert.deepEqual(only!.result.outcome, { kind: 'exited', code: 0 });
  assert.deepEqual(storedConsole(only!.dir), Array.from({ length: 12 }, (_, i) => `line ${i + 1}`));
  assert.deepEqual(only!.result.artifacts.map((a: { path: string }) => a.path), ['made.txt'], 'the artifact was sent');
  assert.deepEqual(fileLines(join(out, 'starts')).map((l) => l.split(' ')[0]), ['long'], 'the job started once; the queued one did not start');
  assert.deepEqual(storedResults(dir, 'next'), []);
  const info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.queues.flatMap((q: { jobs: { name: string }[] }) => q.jobs.map((j) => j.name)), ['next'], 'the queued job is still queued');
  assert.deepEqual(info.running, []);
});

test('SIGHUP to an idle worker: it exits 75 at once, and a job queued afterwards waits for the next worker', async () => {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  const server = await startServer(dir, ['--heartbeat', '1']);
  const worker = startWorker(server.remote, 'hup-2', ['--loop']);
  await waitFor('the worker to connect', async () => (await clientJson(server.remote, ['info'])).workers.length === 1);
  worker.child.kill('SIGHUP');
  const { code } = await worker.exited;
  assert.equal(code, 75, worker.err());
  assert.match(worker.err(), /SIGHUP: draining \(no job was running: exiting/);
  await waitFor('the server to see the worker go', async () => (await clientJson(server.remote, ['info'])).workers.length === 0);
  // The worker started again (as its supervisor would) takes the next job.
  await scheduleJob(server, 'after', 'hup-2', jobScript(out, 'after'));
  await clientJson(server.remote, ['execute', 'after']);
  const again = startWorker(server.remote, 'hup-2', ['--once']);
  assert.equal((await again.exited).code, 0, again.err());
  await waitFor('the result to be stored', () => storedResults(dir, 'after').length === 1);
  assert.deepEqual(storedResults(dir, 'after')[0]!.result.outcome, { kind: 'exited', code: 0 });
});

test('SIGHUP while the server is away mid-job (an upgrade restarts both): the job goes on, is resumed and reported once when the server is back, then the worker exits 75', async () => {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  const flags = ['--heartbeat', '1', '--reattach-grace', '20'];
  let server = await startServer(dir, flags);
  await scheduleJob(server, 'upgraded', 'hup-3', jobScript(out, 'upgraded'));
  await clientJson(server.remote, ['execute', 'upgraded']);
  const worker = startWorker(server.remote, 'hup-3', ['--loop']);
  await waitFor('the job to be under way', () => progress(out) >= 2);
  server.child.kill('SIGTERM');
  await server.exited;
  worker.child.kill('SIGHUP');
  await waitFor('the worker to say it drains', () => /SIGHUP: draining \(finishing upgraded/.test(worker.err()));
  assert.equal(worker.child.exitCode, null, 'the worker waits to report its job');
  server = await startServer(dir, flags, server.port);
  const { code } = await worker.exited;
  assert.equal(code, 75, worker.err());
  await waitFor('the result to be stored', () => storedResults(dir, 'upgraded').length === 1);
  const [only] = storedResults(dir, 'upgraded');
  assert.deepEqual(only!.result.outcome, { kind: 'exited', code: 0 });
  assert.deepEqual(storedConsole(only!.dir), Array.from({ length: 12 }, (_, i) => `line ${i + 1}`));
  assert.equal(fileLines(join(out, 'starts')).length, 1, 'the job started once');
});

/**
 * A loopback TCP proxy to `port` that can hold back what the server sends (the worker does not see it
 * until `release`), so a line can be "on the wire" while the worker hangs up. Half-closes pass through.
 */
class HoldProxy {
  readonly server: net.Server;
  private holding = false;
  private readonly held: (() => void)[] = [];

  constructor(port: number) {
    this.server = net.createServer({ allowHalfOpen: true }, (worker) => {
      const up = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      const later = (f: () => void) => (this.holding ? this.held.push(f) : f());
      worker.on('data', (d) => up.write(d));
      worker.on('end', () => up.end());
      up.on('data', (d) => later(() => worker.write(d)));
      up.on('end', () => later(() => worker.end()));
      for (const s of [worker, up]) s.on('error', () => (worker.destroy(), up.destroy()));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const f of this.held.splice(0)) f();
  }
}

test('SIGHUP to an idle worker while the server\'s job is on the wire: the job is not lost: it runs once, is reported, then the worker exits 75', async () => {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  // A long grace: a job lost in the hang-up would wait for it, and the test would see no result.
  const server = await startServer(dir, ['--heartbeat', '2', '--reattach-grace', '60']);
  const proxy = new HoldProxy(server.port);
  const remote = await proxy.listen();
  after(() => proxy.server.close());
  await scheduleJob(server, 'crossing', 'hup-4', jobScript(out, 'crossing'));
  const worker = startWorker(remote, 'hup-4', ['--loop']);
  await waitFor('the worker to wait for a job', async () => (await clientJson(server.remote, ['info'])).workers.length === 1);
  proxy.hold();
  await clientJson(server.remote, ['execute', 'crossing']);
  await waitFor('the server to send the job', async () => (await clientJson(server.remote, ['info'])).running.length === 1);
  worker.child.kill('SIGHUP');
  await waitFor('the worker to say it drains', () => /SIGHUP: draining \(no job was running/.test(worker.err()));
  proxy.release();
  const { code } = await worker.exited;
  assert.equal(code, 75, worker.err());
  await waitFor('the result to be stored', () => storedResults(dir, 'crossing').length === 1);
  assert.deepEqual(storedResults(dir, 'crossing')[0]!.result.outcome, { kind: 'exited', code: 0 });
  assert.equal(fileLines(join(out, 'starts')).length, 1, 'the job started once');
});

test('SIGHUP after a pipelining worker was sent its next job ahead: that job is handed back unbegun and requeued as never started (not left to the grace), the worker exits 75 after the first', async () => {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  const server = await startServer(dir, ['--heartbeat', '2', '--reattach-grace', '60']);
  // A 200 MB artifact keeps the worker reporting the first job while the second is sent ahead.
  await scheduleJob(server, 'first', 'hup-5', `#!/bin/sh\necho "first $$" >> ${out}/starts\nhead -c 200000000 /dev/zero > big.bin\necho first >> ${out}/ends\n`);
  await scheduleJob(server, 'second', 'hup-5', jobScript(out, 'second'));
  // execute puts a job first in its queue: second, then first, leaves first at the head.
  await clientJson(server.remote, ['execute', 'second']);
  await clientJson(server.remote, ['execute', 'first']);
  const worker = startWorker(server.remote, 'hup-5', ['--loop']);
  await waitFor('the second job to be sent ahead', () => /second on hup-5 sent ahead to worker/.test(server.err()), 30_000);
  worker.child.kill('SIGHUP');
  const { code } = await worker.exited;
  assert.equal(code, 75, worker.err());
  await waitFor('the first result', () => storedResults(dir, 'first').length === 1, 30_000);
  await waitFor('the second job back in its queue', () => /second back in the queue of hup-5, never begun \(handed back unbegun/.test(server.err()));
  const info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.queues.map((q: { jobs: { name: string }[] }) => q.jobs.map((j) => j.name)), [['second']], 'the second is queued again');
  assert.equal(storedResults(dir, 'second').length, 0, 'no result for a job never begun');
  const next = startWorker(server.remote, 'hup-5', ['--once']);
  assert.equal((await next.exited).code, 0, next.err());
  await waitFor('the second result', () => storedResults(dir, 'second').length === 1, 30_000);
  const [second] = storedResults(dir, 'second');
  assert.deepEqual(second!.result.outcome, { kind: 'exited', code: 0 });
  assert.equal(second!.result.retries, 0, 'handing back cost no retry');
  assert.deepEqual(fileLines(join(out, 'starts')).map((l) => l.split(' ')[0]), ['first', 'second'], 'each started once');
});
