import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as asn1js from 'asn1js';
import { decodeExec } from '../../src/upload/exec-decode.js';
import { client, clientJson, spawnProgram, startServer, storedConsole, storedResults, tempDir, waitFor, writeScript, type TestServer } from './harness.js';
import { children, ctx, describe, hello, int, intOf, nul, originalClient, OriginalPeer, period, raw, scriptJob, seq, textOf, utf8, uuidBlock, uuidOf } from './original-peers.js';
import { startReceiver } from './receiver.js';

// The original builder's worker and client, faked from the protocol
// description (original-peers.ts, built on asn1js), drive jobs through
// --compat-port of the real server: the runs they make are runs like any
// other (spool, results, upload, our own client's view).

async function compatPort(server: TestServer): Promise<number> {
  const m = await waitFor('the compat listening line', () => /original protocol \(--compat-port\) listening 127\.0\.0\.1:(\d+)/.exec(server.out()));
  return Number(m[1]);
}

const SCRIPT = '#!/bin/sh\necho never run by the fake worker\n';

test('an original client schedules and asks info; an original worker takes the job, streams output and finishes with two artifacts; the run is stored and uploaded', async () => {
  const receiver = await startReceiver();
  const server = await startServer(tempDir(), ['--compat-port', '0', '--upload', receiver.url, '--keep-local']);
  const port = await compatPort(server);

  // schedule: Schedule(daily, script_job) -> Success; daily queues the first run at once.
  const sched = await originalClient(port, ctx(5, seq(period('daily'), scriptJob('compat-job', 'debian-12', SCRIPT))));
  assert.deepEqual(sched.map(describe), ['success']);
  const again = await originalClient(port, ctx(5, seq(period('daily'), scriptJob('compat-job', 'debian-12', SCRIPT))));
  assert.match(describe(again[0]!), /^failure .*already scheduled/);

  // info: Info_reply (schedule, queues, running, dropped) then Success, as the original sends.
  const info = await originalClient(port, ctx(6, nul()));
  assert.deepEqual(info.map((r) => r.tag), [22, 18]);
  const [schedule, queues, running, dropped] = children(info[0]!.inner);
  const [item] = children(schedule!);
  const [, itemPeriod, itemJob] = children(item!);
  assert.equal(itemPeriod!.idBlock.tagNumber, 1, 'daily is [1]');
  assert.equal(itemJob!.idBlock.tagNumber, 0, 'a script job is [0]');
  const [jname, jscript, , jplatform] = children(children(itemJob!)[0]!);
  assert.deepEqual([textOf(jname!), textOf(jscript!), textOf(jplatform!)], ['compat-job', SCRIPT, 'debian-12']);
  const [queue] = children(queues!);
  assert.equal(textOf(children(queue!)[0]!), 'debian-12');
  assert.equal(children(children(queue!)[1]!).length, 1, 'the job waits in the debian-12 queue');
  assert.equal(children(running!).length, 0);
  assert.equal(children(dropped!).length, 0);

  // The worker: hello, Job_requested platform -> Job_schedule(uuid, script_job).
  const worker = await hello(port, 'worker');
  await worker.send(ctx(16, utf8('debian-12')));
  const job = await worker.read();
  assert.equal(job?.tag, 2, 'job_schedule');
  const [uuidB, jobB] = children(job!.inner);
  const runId = uuidOf(uuidB!);
  assert.equal(raw(uuidB!).length, 16, 'the UUID travels as 16 raw bytes');
  assert.deepEqual(children(jobB!).map((b, i) => (i === 2 ? children(b).length : textOf(b))), ['compat-job', SCRIPT, 0, 'debian-12']);

  // Our own client sees a run like any other.
  const ours = await clientJson(server.remote, ['info']);
  assert.equal(ours.running[0].run_id, runId);
  assert.equal(ours.workers[0].platform, 'debian-12');

  // Output lines, observed by an original client from before they come (it replays what it missed).
  const observer = hello(port, 'client').then(async (p) => {
    await p.send(ctx(10, uuidBlock(runId)));
    return p.readAll();
  });
  const lines = ['first line', 'résumé ✓', 'last line'];
  for (const l of lines) await worker.send(ctx(4, seq(uuidBlock(runId), utf8(l))));

  // Job_finished(uuid, exited 0, two files): one small, one of 3 MiB that spans many reads.
  const big = randomBytes(3 * 1024 * 1024);
  const files = seq(seq(utf8('bin/hello'), utf8(Buffer.from('ELF\0\x01'))), seq(utf8('big.bin'), utf8(big)));
  await worker.send(ctx(3, seq(uuidBlock(runId), ctx(0, int(0)), files)));
  assert.equal(await worker.read(), null, 'the server closes after job_finished');

  const [stored] = await waitFor('the stored result', () => storedResults(server.dir, 'compat-job')[0] && storedResults(server.dir, 'compat-job'));
  assert.equal(stored!.result.run_id, runId);
  assert.deepEqual(stored!.result.outcome, { kind: 'exited', code: 0 });
  assert.deepEqual(stored!.result.artifacts.map((a: { path: string; size: number }) => [a.path, a.size]).sort(), [['big.bin', big.length], ['bin/hello', 5]]);
  assert.ok(readFileSync(join(stored!.dir, 'artifacts', 'big.bin')).equals(big), 'the big artifact arrived byte for byte');
  assert.deepEqual(storedConsole(stored!.dir), lines);

  // The observer got every line, then the outcome in the original's words, then Success.
  const seen = await observer;
  assert.deepEqual(seen.slice(0, -1).map((r) => { const [u, l, ts] = children(r.inner); return [r.tag, uuidOf(u!), textOf(l!), typeof intOf(ts!)]; }), [
    ...lines.map((l) => [4, runId, l, 'number']),
    [4, runId, 'exited 0', 'number'],
  ]);
  assert.equal(describe(seen.at(-1)!), 'success');

  // Uploaded to builder-web like any run.
  const up = await waitFor('the upload', () => receiver.requests[0]);
  const exec = decodeExec(up.body);
  assert.equal(exec.uuid, runId);
  assert.equal(exec.job.platform!.toString(), 'debian-12');
  assert.deepEqual(exec.console.map((l) => l.line.toString()), lines);
  assert.ok(exec.artifacts.find((a) => a.path.toString() === 'big.bin')!.data.equals(big));

  // A stored run can be observed afterwards; an unknown one is a Failure, as in the original.
  const replay = await originalClient(port, ctx(10, uuidBlock(runId)));
  assert.deepEqual(replay.map((r) => (r.tag === 4 ? textOf(children(r.inner)[1]!) : describe(r))), [...lines, 'exited 0', 'success']);
  const unknown = await originalClient(port, ctx(10, uuidBlock('00000000-0000-4000-8000-000000000000')));
  assert.match(describe(unknown[0]!), /^failure uuid not found/);
  assert.equal(unknown.length, 1);

  // The other commands, each answered Success or Failure(message).
  const cmds: [string, ReturnType<typeof ctx>, RegExp][] = [
    ['execute', ctx(20, seq(utf8('compat-job'))), /^success$/],
    ['execute unknown', ctx(20, seq(utf8('nope'))), /^failure no job named nope/],
    ['reschedule', ctx(13, seq(utf8('compat-job'), new asn1js.GeneralizedTime({ valueDate: new Date('2030-01-02T03:04:05Z') }), period('weekly'))), /^success$/],
    ['orb build', ctx(12, seq(period('hourly'), seq(utf8('orb-x'), utf8('hello-pkg')))), /^success$/],
    ['bad name', ctx(5, seq(period('daily'), scriptJob('../evil', 'debian-12', SCRIPT))), /^failure bad job name/],
    ['schedule on p9', ctx(5, seq(period('never'), scriptJob('dropme', 'p9', SCRIPT))), /^success$/],
    ['drop', ctx(17, utf8('p9')), /^success$/],
    ['drop again (idempotent, as our own drop-platform)', ctx(17, utf8('p9')), /^success$/],
    ['undrop', ctx(21, utf8('p9')), /^success$/],
    ['unschedule', ctx(9, utf8('orb-x')), /^success$/],
    ['unschedule unknown', ctx(9, utf8('orb-x')), /^failure no job named orb-x/],
  ];
  for (const [what, cmd, want] of cmds) {
    const replies = await originalClient(port, cmd);
    assert.equal(replies.length, 1, what);
    assert.match(describe(replies[0]!), want, what);
  }
  const after = await clientJson(server.remote, ['info']);
  const entry = after.schedule.find((e: { name: string }) => e.name === 'compat-job');
  assert.equal(entry.period, 'weekly');
  assert.equal(entry.next, '2030-01-02T03:04:05.000Z');
});

test('garbage, an over-long frame, a wrong version and an over-long worker frame are disconnected with a log line; the server keeps serving', async () => {
  const server = await startServer(tempDir(), ['--compat-port', '0', '--max-line', '4096', '--retries', '0']);
  const port = await compatPort(server);
  const expectFailure = async (bytes: Buffer, log: RegExp) => {
    const p = await OriginalPeer.connect(port);
    await p.write(bytes);
    const replies = await p.readAll();
    assert.equal(replies.length, 1);
    assert.equal(replies[0]!.tag, 19, 'one Failure frame, then the close');
    await waitFor(`the log line ${log}`, () => log.test(server.err()));
  };
  // "GET / HT" read as a length: about 5 * 10^18 bytes, refused before reading any of it.
  await expectFailure(Buffer.from('GET / HTTP/1.0\r\n\r\n'), /announced a frame of 5135603447292250196 bytes, more than the limit.*disconnecting/);
  const len = Buffer.alloc(8);
  len.writeBigUInt64BE(5n);
  await expectFailure(Buffer.concat([len, Buffer.from('xxxxx')]), /not an original cmd: bad DER.*disconnecting/);
  len.writeBigUInt64BE(1n << 40n);
  await expectFailure(Buffer.concat([len, Buffer.from([0xa3])]), /announced a frame of 1099511627776 bytes/);
  const old = await OriginalPeer.connect(port);
  await old.send(ctx(14, seq(ctx(0, nul()), int(12))));
  const refused = await old.readAll();
  assert.match(describe(refused[0]!), /^failure protocol version mismatch: this client speaks 12, the compat port speaks client version 13/);

  // A worker whose output frame is longer than --max-line: disconnected, its run lost (and, with --retries 0, recorded).
  assert.equal((await client(server.remote, ['schedule', 'long', 'p1', writeScript(tempDir('builder-script-'), 'job.sh', SCRIPT), '--period', 'daily'])).code, 0);
  const worker = await hello(port, 'worker');
  await worker.send(ctx(16, utf8('p1')));
  const job = await worker.read();
  const runId = uuidOf(children(job!.inner)[0]!);
  await worker.send(ctx(4, seq(uuidBlock(runId), utf8('x'.repeat(5000)))));
  const last = await worker.readAll();
  assert.equal(describe(last[0]!).startsWith('failure'), true);
  const [stored] = await waitFor('the lost run', () => storedResults(server.dir, 'long')[0] && storedResults(server.dir, 'long'));
  assert.match(stored!.result.outcome.message, /worker lost: protocol error: .*more than the limit of 4096/);

  // Still serving, on both ports.
  assert.equal((await client(server.remote, ['info'])).code, 0);
  assert.deepEqual((await originalClient(port, ctx(6, nul()))).map((r) => r.tag), [22, 18]);
  assert.equal(server.child.exitCode, null);
});

test('the original protocol cannot cancel: a cancel or a timeout closes the original worker\'s connection, and the run ends as the server decided', async () => {
  const server = await startServer(tempDir(), ['--compat-port', '0', '--retries', '0']);
  const port = await compatPort(server);
  const script = writeScript(tempDir('builder-script-'), 'job.sh', SCRIPT);
  assert.equal((await client(server.remote, ['schedule', 'cancel-me', 'p2', script, '--period', 'daily'])).code, 0);
  const worker = await hello(port, 'worker');
  await worker.send(ctx(16, utf8('p2')));
  const runId = uuidOf(children((await worker.read())!.inner)[0]!);
  assert.equal((await client(server.remote, ['cancel', runId])).code, 0);
  assert.equal(await worker.read(), null, 'the connection is closed: the original worker kills its job at its next output line');
  const [cancelled] = await waitFor('the cancelled run', () => storedResults(server.dir, 'cancel-me')[0] && storedResults(server.dir, 'cancel-me'));
  assert.match(cancelled!.result.outcome.message, /^cancelled by an operator/);

  assert.equal((await client(server.remote, ['schedule', 'slow', 'p2', script, '--period', 'daily', '--timeout', '1'])).code, 0);
  const w2 = await hello(port, 'worker');
  await w2.send(ctx(16, utf8('p2')));
  assert.equal((await w2.read())?.tag, 2);
  assert.equal(await w2.read(), null, 'closed at the timeout');
  const [timedOut] = await waitFor('the timed-out run', () => storedResults(server.dir, 'slow')[0] && storedResults(server.dir, 'slow'));
  assert.match(timedOut!.result.outcome.message, /^timed out after 1 s \(gave up after 1 attempts/);

  // drop-platform tells a waiting original worker with a Failure; a new one of that platform is refused.
  const waiting = await hello(port, 'worker');
  await waiting.send(ctx(16, utf8('p2')));
  await waitFor('the worker to wait', async () => (await clientJson(server.remote, ['info'])).workers.length === 1);
  assert.equal((await client(server.remote, ['drop-platform', 'p2'])).code, 0);
  assert.deepEqual((await waiting.readAll()).map(describe), ['failure platform p2 was dropped on this server (undrop-platform p2 to accept it again)']);
  const late = await hello(port, 'worker');
  await late.send(ctx(16, utf8('p2')));
  assert.deepEqual((await late.readAll()).map(describe), ['failure platform p2 is dropped on this server (undrop-platform p2 to accept it again)']);
});

test('--compat-port beyond loopback is refused without --insecure (exit 124, one line)', async () => {
  const p = spawnProgram('builder-server', ['--ip', '0.0.0.0', '--port', '0', '--compat-port', '0', '--dir', tempDir()]);
  const { code } = await p.exited;
  assert.equal(code, 124);
  assert.match(p.err(), /refusing --compat-port on 0\.0\.0\.0: the original's protocol has no credentials/);
  assert.equal(p.err().trim().split('\n').length, 1);
});

