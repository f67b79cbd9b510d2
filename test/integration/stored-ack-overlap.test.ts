import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { clientJson, scheduleJob, startServer, startWorker, storedConsole, storedResults, tempDir, waitFor, type TestServer } from './harness.js';
import { fileLines } from './job-trace.js';
import { LoopbackProxy } from './loopback-proxy.js';

// job_received (issue 15): a looping worker begins the job sent ahead as soon
// as the server has read the last one's report, and keeps the reported run
// until its job_stored beside the running one. Here a proxy between worker and
// server withholds every job_stored, so the worker carries both runs; then
// the connection is cut, the server restarted, or the worker drained. Each
// run must end with exactly one stored result, each job started once.

/** A loopback proxy to `port` that can withhold the server's job_stored lines (released by `release`) and cut every connection. */
class AckProxy {
  private held: (() => void)[] = [];
  holding = true;
  readonly net: LoopbackProxy;

  constructor(port: number) {
    this.net = new LoopbackProxy(port, {
      fromServer: (line, send) => (this.holding && /"type":"job_stored"/.test(line) ? this.held.push(() => send(line)) : send(line)),
    });
  }

  get connections(): number {
    return this.net.connections;
  }

  listen(): Promise<string> {
    return this.net.listen();
  }

  /** The next connections go to `port` (a restarted server). */
  retarget(port: number): void {
    this.net.retarget(port);
  }

  /** Stops withholding and sends what was withheld. */
  release(): void {
    this.holding = false;
    for (const send of this.held.splice(0)) send();
  }

  /** Destroys every connection (withheld lines die with them); new connections pass everything. */
  cut(): void {
    this.holding = false;
    this.held = [];
    this.net.cut();
  }

  close(): void {
    this.cut();
    this.net.close();
  }
}

const proxies: AckProxy[] = [];
after(() => proxies.forEach((p) => p.close()));

const FLAGS = ['--heartbeat', '1', '--reattach-grace', '20'];

/** Two jobs queued in order on `platform`: `first` ends at once, `second` waits for OUT/go. */
async function twoJobs(server: TestServer, platform: string, out: string): Promise<void> {
  await scheduleJob(server, 'first', platform, `#!/bin/sh\necho "first $$" >> ${out}/starts\necho one\n`);
  await scheduleJob(server, 'second', platform, `#!/bin/sh\necho "second $$" >> ${out}/starts\necho two\nwhile [ ! -e ${out}/go ]; do sleep 0.05; done\necho three\n`);
  // `execute` puts a job at the front of its queue: the second goes in first.
  await clientJson(server.remote, ['execute', 'second']);
  await clientJson(server.remote, ['execute', 'first']);
}

async function withheldSetup(platform: string) {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  const server = await startServer(dir, FLAGS);
  const proxy = new AckProxy(server.port);
  proxies.push(proxy);
  const remote = await proxy.listen();
  await twoJobs(server, platform, out);
  const worker = startWorker(remote, platform, ['--loop']);
  // Without job_received the worker would wait for the withheld job_stored and never begin `second`.
  await waitFor('the second job to begin while the first awaits its job_stored', () => fileLines(join(out, 'starts')).some((l) => l.startsWith('second ')));
  await waitFor('the first result to be stored', () => storedResults(dir, 'first').length === 1).catch((e) => {
    throw new Error(`${(e as Error).message}\nserver: ${server.err()}\nworker: ${worker.err()}`);
  });
  return { dir, out, server, proxy, worker };
}

function assertOnceEach(dir: string, out: string): void {
  const first = storedResults(dir, 'first');
  const second = storedResults(dir, 'second');
  assert.equal(first.length, 1, 'one result of first');
  assert.equal(second.length, 1, 'one result of second');
  assert.deepEqual(first[0]!.result.outcome, { kind: 'exited', code: 0 });
  assert.deepEqual(second[0]!.result.outcome, { kind: 'exited', code: 0 });
  assert.deepEqual(storedConsole(first[0]!.dir), ['one']);
  assert.deepEqual(storedConsole(second[0]!.dir), ['two', 'three'], 'every line once and in order');
  const starts = fileLines(join(out, 'starts')).map((l) => l.split(' ')[0]);
  assert.deepEqual(starts, ['first', 'second'], 'each job started once');
}

test('the connection cut while one run awaits its job_stored and the next runs: both resumed, one result each, no job run twice', async () => {
  const { dir, out, server, proxy, worker } = await withheldSetup('ov-1');
  proxy.cut();
  await waitFor('the worker to reconnect', () => proxy.connections >= 2, 10_000);
  await waitFor('the second run to be resumed', () => /second: worker \w+ \(.*\) resumed the run/.test(server.err()));
  writeFileSync(join(out, 'go'), '');
  await waitFor('the second result to be stored', () => storedResults(dir, 'second').length === 1);
  // The first was stored before the cut: its resume is answered run_gone, and it is not reported again.
  assert.match(worker.err(), /the server gave up first/);
  assertOnceEach(dir, out);
  assert.equal(worker.child.exitCode, null, 'the looping worker goes on');
});

test('the server killed while one run awaits its job_stored and the next runs: after the restart the next is resumed, one result each, no job run twice', async () => {
  const { dir, out, server, proxy, worker } = await withheldSetup('ov-2');
  server.child.kill('SIGKILL');
  await server.exited;
  proxy.cut();
  assert.ok(existsSync(join(dir, 'running')), 'the spool is there');
  const again = await startServer(dir, FLAGS, server.port);
  proxy.retarget(again.port);
  await waitFor('the second run to be resumed', () => /second: worker \w+ \(.*\) resumed the run/.test(again.err()), 20_000);
  writeFileSync(join(out, 'go'), '');
  await waitFor('the second result to be stored', () => storedResults(dir, 'second').length === 1);
  assertOnceEach(dir, out);
  assert.equal(worker.child.exitCode, null, 'the looping worker goes on');
});

test('SIGHUP while one run awaits its job_stored and the next runs: the worker finishes the next, waits for both acks, exits 75 (drained)', async () => {
  const { dir, out, proxy, worker } = await withheldSetup('ov-3');
  worker.child.kill('SIGHUP');
  await waitFor('the worker to drain', () => /draining \(finishing second/.test(worker.err()));
  writeFileSync(join(out, 'go'), '');
  await waitFor('the second result to be stored', () => storedResults(dir, 'second').length === 1).catch((e) => {
    throw new Error(`${(e as Error).message}\nworker: ${worker.err()}`);
  });
  assert.equal(worker.child.exitCode, null, 'the worker waits for the withheld job_stored');
  proxy.release();
  const { code } = await worker.exited;
  assert.equal(code, 75, worker.err());
  assertOnceEach(dir, out);
});

/**
 * A loopback proxy to `port` for one worker: once armed, the worker's lines
 * after its next job_requested (its report) are held, heartbeats excepted,
 * until `release`: the job the server sends ahead for that request stays
 * held ahead, unbegun, as long as the test needs.
 */
class ReportStall {
  private armed = false;
  private held: (() => void)[] | null = null;
  readonly net: LoopbackProxy;

  constructor(port: number) {
    this.net = new LoopbackProxy(port, {
      fromPeer: (line, send) => {
        if (this.armed && this.held && !/"type":"heartbeat"/.test(line)) return void this.held.push(() => send(line));
        send(line);
        if (this.armed && !this.held && /"type":"job_requested"/.test(line)) this.held = [];
      },
    });
  }

  listen(): Promise<string> {
    return this.net.listen();
  }

  arm(): void {
    this.armed = true;
  }

  release(): void {
    this.armed = false;
    for (const send of this.held ?? []) send();
    this.held = null;
  }

  close(): void {
    this.net.close();
  }
}

test('a job held ahead while its worker reports is taken back for a worker that comes idle: it runs there at once, started once, no retry spent', async () => {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  const server = await startServer(dir, FLAGS);
  const proxy = new ReportStall(server.port);
  after(() => proxy.close());
  const remote = await proxy.listen();
  await scheduleJob(server, 'long', 'tb-1', `#!/bin/sh\necho "long $$" >> ${out}/starts\nwhile [ ! -e ${out}/go ]; do sleep 0.05; done\n`);
  await scheduleJob(server, 'next', 'tb-1', `#!/bin/sh\necho "next $$" >> ${out}/starts\necho done\n`);
  await clientJson(server.remote, ['execute', 'next']);
  await clientJson(server.remote, ['execute', 'long']);
  const busy = startWorker(remote, 'tb-1', ['--loop']);
  await waitFor('long to begin', () => fileLines(join(out, 'starts')).some((l) => l.startsWith('long ')));
  // long ends; its worker asks for the next job (sent ahead) and reports, and the report is held in the proxy.
  proxy.arm();
  writeFileSync(join(out, 'go'), '');
  await waitFor('next to be sent ahead while long is reported', () => /next on tb-1 sent ahead to worker/.test(server.err()));
  const idle = startWorker(server.remote, 'tb-1', ['--loop']);
  await waitFor('next to be stored', () => storedResults(dir, 'next').length === 1);
  assert.match(server.err(), /next taken back from worker \w+ \(held ahead\) for an idle worker/);
  const [next] = storedResults(dir, 'next');
  assert.deepEqual(next!.result.outcome, { kind: 'exited', code: 0 });
  assert.equal(next!.result.retries, 0, 'taking back cost no retry');
  const running = (await clientJson(server.remote, ['info'])).running as { name: string; worker: string }[];
  assert.deepEqual(running.map((r) => r.name), ['long'], 'long is still being reported by the first worker');
  assert.notEqual(next!.result.worker.id, running[0]!.worker.split(' ')[0], 'next ran on the other worker');
  proxy.release();
  await waitFor('long to be stored', () => storedResults(dir, 'long').length === 1);
  assert.deepEqual(storedResults(dir, 'long')[0]!.result.outcome, { kind: 'exited', code: 0 });
  assert.deepEqual(fileLines(join(out, 'starts')).map((l) => l.split(' ')[0]), ['long', 'next'], 'each started once');
  assert.equal(busy.child.exitCode, null);
  assert.equal(idle.child.exitCode, null);
});
