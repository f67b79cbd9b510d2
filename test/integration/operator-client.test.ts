import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { client, clientJson, scheduleJob, spawnProgram, startServer, startWorker, stopChild, storedResults, tempDir, waitFor, writeScript } from './harness.js';

// The operator's day with the client (issue 16): waits that end, exit codes that mean
// something, flags that are never silently merged, messages that name the thing.

test('the client gives up on a listener that never answers and on a frozen server, naming the host and the wait', async () => {
  const silent = net.createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as net.AddressInfo).port;
  try {
    const r = await client(`127.0.0.1:${port}`, ['--reply-timeout', '1', 'info']);
    assert.equal(r.code, 123);
    assert.equal(r.err, `builder-client: 127.0.0.1:${port} did not answer within 1 s (is builder-server stopped or overloaded? --reply-timeout SECONDS waits longer)\n`);
  } finally {
    silent.close();
  }
  const server = await startServer(tempDir());
  server.child.kill('SIGSTOP');
  try {
    for (const args of [['info'], ['results'], ['observe-latest'], ['pause', 'x-1']]) {
      const r = await client(server.remote, ['--reply-timeout', '0.5', ...args]);
      assert.equal(r.code, 123, args.join(' '));
      assert.match(r.err, new RegExp(`${server.remote} did not answer within 0.5 s`));
    }
  } finally {
    server.child.kill('SIGCONT');
  }
  assert.equal((await client(server.remote, ['info'])).code, 0, 'the thawed server answers');
  const help = await client(server.remote, ['--help']);
  assert.match(help.out, /--reply-timeout S .*\n.*\(default 30; exit 123\)/);
});

test('flags: given twice, without a value, or unknown before the command are clear usage errors', async () => {
  const cases: [string[], RegExp][] = [
    [['--remote', '127.0.0.1:1', '-r', '127.0.0.1:2', 'info'], /--remote is given twice \("127.0.0.1:1", then "127.0.0.1:2"\): give it once/],
    [['-r', '127.0.0.1:1', '--socket', '/tmp/x.sock', 'info'], /--socket and --remote exclude each other/],
    [['--jsno', 'info'], /unknown option --jsno \(see builder-client --help\)/],
    [['schedule', 'a', 'b-1', '/dev/null', '--period'], /--period needs a value/],
    [['info', '--limit', '5', '--limit', '6'], /--limit is given twice/],
  ];
  for (const [args, re] of cases) {
    const p = spawnProgram('builder-client', args);
    assert.equal((await p.exited).code, 124, args.join(' '));
    assert.match(p.err(), re);
  }
  const keep = spawnProgram('builder-server', ['--keep', '-1', '--dir', tempDir()]);
  assert.equal((await keep.exited).code, 124);
  assert.match(keep.err(), /--keep must be a whole number from 0 to 1000000, not "-1"/);
  // Service files pass --ip and append the operator's flags: the last --ip counts (a non-loopback
  // first one would be refused without credentials).
  const ip = spawnProgram('builder-server', ['--ip', '10.255.255.1', '--port', '0', '--dir', tempDir(), '--ip', '127.0.0.1']);
  await waitFor('the server to listen on the last --ip', () => / listening 127\.0\.0\.1:\d+/.test(ip.out()) || ip.child.exitCode !== null);
  assert.match(ip.out(), / listening 127\.0\.0\.1:\d+/, ip.err());
  await stopChild(ip.child);
});

test('observe exits 123 when the run ended without an outcome; --exit-status mirrors the run', async () => {
  const server = await startServer(tempDir(), ['--heartbeat', '1']);
  await scheduleJob(server, 'good', 'obs-1', '#!/bin/sh\necho fine\n', ['--period', 'never']);
  await scheduleJob(server, 'bad', 'obs-1', '#!/bin/sh\necho broken\nexit 3\n', ['--period', 'never']);
  const w = startWorker(server.remote, 'obs-1', ['--loop']);
  for (const n of ['good', 'bad']) await clientJson(server.remote, ['execute', n]);
  await waitFor('both runs', () => storedResults(server.dir, 'good').length === 1 && storedResults(server.dir, 'bad').length === 1);
  const good = storedResults(server.dir, 'good')[0]!.result.run_id as string;
  const bad = storedResults(server.dir, 'bad')[0]!.result.run_id as string;
  assert.equal((await client(server.remote, ['observe', bad])).code, 0, 'without --exit-status: an outcome is success');
  assert.equal((await client(server.remote, ['observe', bad, '--exit-status'])).code, 1);
  assert.equal((await client(server.remote, ['observe', good, '--exit-status'])).code, 0);
  assert.equal((await client(server.remote, ['observe-latest', '--job', 'bad', '--exit-status'])).code, 1);

  await scheduleJob(server, 'long', 'obs-1', '#!/bin/sh\necho started\nsleep 60\n', ['--period', 'never']);
  await clientJson(server.remote, ['execute', 'long']);
  const run = await waitFor('the long run', async () => (await clientJson(server.remote, ['info'])).running[0]);
  // --reconnect-for 0: by default it would wait for the server to come back (reattach-observe.test.ts).
  const watcher = spawnProgram('builder-client', ['--remote', server.remote, 'observe', run.run_id, '--reconnect-for', '0']);
  await waitFor('the watcher to see the run', () => watcher.out().includes('started'));
  await stopChild(server.child);
  assert.equal((await watcher.exited).code, 123, watcher.err());
  assert.match(watcher.err(), /ended without an outcome|closed the connection|no answer/);
  await stopChild(w.child);
});

test('run ids: a unique prefix of 4 or more characters works wherever an id does; an ambiguous one lists the candidates', async () => {
  const dir = tempDir();
  let server = await startServer(dir);
  await scheduleJob(server, 'art', 'rid-1', '#!/bin/sh\nprintf x > out\n', ['--period', 'daily']);
  startWorker(server.remote, 'rid-1');
  await waitFor('the run', () => storedResults(dir, 'art').length === 1);
  const { dir: runDir, result } = storedResults(dir, 'art')[0]!;
  const id = result.run_id as string;
  const fetched = await clientJson(server.remote, ['fetch', id.slice(0, 8), tempDir()]);
  assert.equal(fetched.run_id, id);
  const watched = await client(server.remote, ['observe', id.slice(0, 4).toUpperCase()]);
  assert.equal(watched.code, 0, watched.err);
  assert.match(watched.err, new RegExp(id));
  assert.equal((await client(server.remote, ['observe', 'abc'])).code, 124, 'under 4 characters: a usage error');
  // Two stored runs sharing a prefix (copies of the real one).
  await stopChild(server.child);
  for (const twin of ['feedbeef-0000-4000-8000-000000000001', 'feedbeef-0000-4000-8000-000000000002']) {
    const to = join(dir, 'results', 'art', twin);
    cpSync(runDir, to, { recursive: true });
    const r = JSON.parse(readFileSync(join(to, 'result.json'), 'utf8'));
    writeFileSync(join(to, 'result.json'), JSON.stringify({ ...r, run_id: twin }, null, 2));
  }
  server = await startServer(dir);
  const amb = await client(server.remote, ['fetch', 'feedbeef', tempDir()]);
  assert.equal(amb.code, 123);
  assert.match(amb.err, /run id feedbeef is ambiguous: feedbeef-0000-4000-8000-000000000001, feedbeef-0000-4000-8000-000000000002; give more characters/);
  assert.equal((await client(server.remote, ['observe', 'feedbeef-0000-4000-8000-0000000000'])).code, 123);
  assert.equal((await client(server.remote, ['observe', 'feedbeef-0000-4000-8000-000000000002'])).code, 0);
  const none = await client(server.remote, ['cancel', '0123']);
  assert.equal(none.code, 123);
  assert.match(none.err, /no run id starts with 0123/);
});

test('schedule: daily by default; --from DIR takes only scripts; --replace re-applies a set; script_file may be absolute', async () => {
  const server = await startServer(tempDir());
  const script = writeScript(tempDir(), 'job.sh', '#!/bin/sh\necho hi\n');
  const one = await client(server.remote, ['schedule', 'dflt', 'sch-1', script]);
  assert.equal(one.code, 0, one.err);
  let info = await clientJson(server.remote, ['info']);
  assert.equal(info.schedule[0].period, 'daily');
  assert.match((await client(server.remote, ['schedule', '--help'])).out, /default daily, as in the original/);
  const cron = await clientJson(server.remote, ['schedule', 'nightly', 'sch-1', script, '--cron', '0 3 * * *']);
  assert.equal(cron.ok, true);
  info = await clientJson(server.remote, ['info']);
  const c = info.schedule.find((e: any) => e.name === 'nightly');
  assert.equal(c.cron, '0 3 * * *');
  assert.equal('period' in c, false, 'a cron job shows no period beside its cron');

  const set = tempDir();
  writeFileSync(join(set, 'alpha.sh'), 'echo a\n');
  writeFileSync(join(set, 'beta'), '#!/bin/sh\necho b\n');
  writeFileSync(join(set, 'README.md'), '# my jobs\n');
  writeFileSync(join(set, '.gitkeep'), '');
  writeFileSync(join(set, 'notes.txt'), 'not a script\n');
  mkdirSync(join(set, 'sub'));
  const first = await clientJson(server.remote, ['schedule', '--from', set, '--platform', 'sch-2', '--period', 'never']);
  assert.equal(first.message, 'scheduled 2 jobs');
  const again = await client(server.remote, ['schedule', '--from', set, '--platform', 'sch-2', '--period', 'never']);
  assert.equal(again.code, 123);
  assert.match(again.err, /job alpha is already scheduled .*schedule --replace/);
  const same = await clientJson(server.remote, ['schedule', '--from', set, '--platform', 'sch-2', '--period', 'never', '--replace']);
  assert.equal(same.message, 'scheduled 0 jobs, 2 unchanged');
  writeFileSync(join(set, 'beta'), '#!/bin/sh\necho b2\n');
  writeFileSync(join(set, 'gamma.sh'), 'echo g\n');
  const changed = await clientJson(server.remote, ['schedule', '--from', set, '--platform', 'sch-2', '--period', 'never', '--replace']);
  assert.equal(changed.message, 'scheduled 1 job, updated 1, 1 unchanged');
  const spool = (name: string) => JSON.parse(readFileSync(join(server.dir, 'schedule', `${name}.json`), 'utf8'));
  assert.match(spool('beta').script, /echo b2/);

  const abs = writeScript(tempDir(), 'elsewhere.sh', '#!/bin/sh\necho abs\n');
  const nd = join(tempDir(), 'jobs.ndjson');
  writeFileSync(nd, JSON.stringify({ name: 'absolute', platform: 'sch-3', script_file: abs }) + '\n');
  assert.equal((await clientJson(server.remote, ['schedule', '--from', nd])).message, 'scheduled 1 job');
  assert.match(spool('absolute').script, /echo abs/);
  writeFileSync(nd, JSON.stringify({ name: 'gone', platform: 'sch-3', script_file: 'missing.sh' }) + '\n');
  const missing = await client(server.remote, ['schedule', '--from', nd]);
  assert.equal(missing.code, 123);
  assert.match(missing.err, new RegExp(`jobs.ndjson:1: cannot read script .*/missing.sh: no such file or directory`));
});

test('platform commands: idempotent, and warnings for platforms no worker serves', async () => {
  const server = await startServer(tempDir());
  const script = writeScript(tempDir(), 'job.sh', '#!/bin/sh\necho hi\n');
  const typo = await client(server.remote, ['schedule', 'typo', 'debain-12', script, '--period', 'never']);
  assert.equal(typo.code, 0);
  assert.match(typo.err, /warning: debain-12: no worker has served this platform/);
  const exec = await client(server.remote, ['execute', 'typo']);
  assert.match(exec.err, /debain-12: no worker has served this platform/);
  const pause = await client(server.remote, ['pause', 'nowhere-1']);
  assert.equal(pause.code, 0);
  assert.match(pause.err, /warning: nowhere-1: no worker has served this platform/);
  const twice = await client(server.remote, ['pause', 'nowhere-1']);
  assert.match(twice.out, /nowhere-1 is already paused/);
  await client(server.remote, ['schedule', 'held', 'nowhere-1', script, '--period', 'never']);
  const held = await client(server.remote, ['execute', 'held']);
  assert.match(held.err, /nowhere-1 is paused: the job waits until builder-client resume nowhere-1/);
  for (const _ of [1, 2]) assert.equal((await client(server.remote, ['resume', 'nowhere-1'])).code, 0);
  assert.match((await client(server.remote, ['resume', 'nowhere-1'])).out, /nowhere-1 is not paused: nothing to do/);
  const w = startWorker(server.remote, 'served-1');
  await waitFor('the worker', async () => (await clientJson(server.remote, ['info'])).workers.length === 1);
  const ok = await client(server.remote, ['schedule', 'fine', 'served-1', script, '--period', 'never']);
  assert.equal(ok.err, '', 'no warning for a platform with a worker');
  await stopChild(w.child);
  await waitFor('the worker to go', async () => (await clientJson(server.remote, ['info'])).workers.length === 0);
  const drop = await clientJson(server.remote, ['drop-platform', 'served-1']);
  assert.match(drop.message, /removed 0 queued jobs and 1 schedule entry; 0 waiting workers told/);
  const drop2 = await client(server.remote, ['drop-platform', 'served-1']);
  assert.equal(drop2.code, 0);
  assert.match(drop2.out, /served-1 is already dropped: nothing to do/);
});

test('text output: aligned columns and plurals; errors that name the thing', async () => {
  const server = await startServer(tempDir());
  const script = writeScript(tempDir(), 'job.sh', '#!/bin/sh\necho hi > out\n');
  await scheduleJob(server, 'a', 'txt-1', '#!/bin/sh\necho a > out\n', ['--period', 'never']);
  await scheduleJob(server, 'a-much-longer-name', 'txt-22222', '#!/bin/sh\n', ['--period', 'weekly']);
  const info = await client(server.remote, ['info']);
  const rows = info.out.split('\n').filter((l) => /^ {2}a(-much-longer-name)? /.test(l));
  assert.equal(rows.length, 2, info.out);
  assert.equal(rows[0]!.indexOf('next:'), rows[1]!.indexOf('next:'), `columns aligned:\n${info.out}`);
  assert.match(info.out, /txt-22222 +1 job +a-much-longer-name/);
  startWorker(server.remote, 'txt-1', ['--loop']);
  await clientJson(server.remote, ['execute', 'a']);
  await waitFor('the run', () => storedResults(server.dir, 'a').length === 1);
  await clientJson(server.remote, ['execute', 'a']);
  await waitFor('the second run', () => storedResults(server.dir, 'a').length === 2);
  const results = await client(server.remote, ['results']);
  assert.match(results.out, / 1 file 2 B\n/);

  const big = join(tempDir(), 'big.sh');
  writeFileSync(big, '#!/bin/sh\n' + '# padding\n'.repeat(200_000));
  const tooBig = await client(server.remote, ['schedule', 'big', 'txt-1', big]);
  assert.equal(tooBig.code, 123);
  assert.match(tooBig.err, new RegExp(`script ${big} is too big: \\d\\.\\d MiB as sent, a job's schedule line may be at most 1.0 MiB`));
  const dir = await client(server.remote, ['schedule', 'd', 'txt-1', tempDir()]);
  assert.match(dir.err, /cannot read script .*: it is a directory/);
  const runDir = storedResults(server.dir, 'a')[0]!.dir;
  const json = spawnProgram('builder-client', ['inspect', join(runDir, 'result.json')]);
  assert.equal((await json.exited).code, 123);
  assert.equal(json.err(), `builder-client: ${join(runDir, 'result.json')} is one file of a stored result: give its directory, builder-client inspect ${runDir}\n`);
  const host = await client('no-such-host.invalid:1234', ['info']);
  assert.equal(host.code, 123);
  assert.equal(host.err, 'builder-client: cannot connect to no-such-host.invalid:1234: no such host (check the host name no-such-host.invalid in --remote / BUILDER_REMOTE)\n');
  assert.equal((await client(server.remote, ['schedule', 'one', 'txt-1', script, '--period', 'never'])).code, 0);
});

test('reschedule --cron sets a cron expression (and its next match); --period replaces it again', async () => {
  const server = await startServer(tempDir());
  await scheduleJob(server, 'later', 'rs-1', '#!/bin/sh\n', ['--period', 'never']);
  const r = await clientJson(server.remote, ['reschedule', 'later', '--cron', '30 4 * * *', '--tz', 'Europe/Berlin']);
  assert.match(r.message, /later next runs at \S+T\d\d:30:00.000Z \(then cron "30 4 \* \* \*" Europe\/Berlin\)/);
  let e = (await clientJson(server.remote, ['info'])).schedule[0];
  assert.equal(e.cron, '30 4 * * *');
  assert.equal(e.tz, 'Europe/Berlin');
  await clientJson(server.remote, ['reschedule', 'later', '2030-01-02T03:04:05Z', '--period', 'weekly']);
  e = (await clientJson(server.remote, ['info'])).schedule[0];
  assert.equal(e.cron, undefined);
  assert.equal(e.period, 'weekly');
  const bad = await client(server.remote, ['reschedule', 'later', '--cron', 'every day']);
  assert.equal(bad.code, 124);
  assert.match(bad.err, /bad cron expression "every day"/);
});
