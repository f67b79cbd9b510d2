import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { get, startStatusServer } from './status-harness.js';
import { client, clientJson, scheduleJob, startServer, startWorker, storedResults, tempDir, waitFor, writeScript, type TestServer } from './harness.js';

// Verify groups with the real programs: builds of one run go to different
// worker processes, the group record ends reproducible, differs (naming the
// file) or survives a server SIGKILL between the builds; compare shows both.

function groupFile(dir: string, id: string): string {
  return join(dir, 'groups', `${id}.json`);
}

function readGroup(dir: string, id: string): any {
  return JSON.parse(readFileSync(groupFile(dir, id), 'utf8'));
}

/** The group id of a job's stored builds, once at least `n` are stored. */
async function groupOf(dir: string, name: string, n = 1): Promise<string> {
  return waitFor(`${n} stored build(s) of ${name}`, () => {
    const tagged = storedResults(dir, name).filter((r) => r.result.group);
    return tagged.length >= n ? (tagged[0]!.result.group.id as string) : null;
  }, 30_000);
}

async function decided(dir: string, id: string): Promise<any> {
  return waitFor(`verify group ${id} to be decided`, () => {
    if (!existsSync(groupFile(dir, id))) return null;
    const g = readGroup(dir, id);
    return g.phase === 'decided' ? g : null;
  }, 30_000);
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

async function workerIdle(server: TestServer, count: number): Promise<void> {
  await waitFor(`${count} idle worker(s)`, async () => {
    const info = await clientJson(server.remote, ['info']);
    return info.workers.length === count && info.workers.every((w: { run_id: string | null }) => w.run_id === null) && info.running.length === 0;
  }, 30_000);
}

test('a deterministic job with --verify 2 is built on two different workers and ends reproducible; compare says same', async () => {
  const dir = tempDir();
  const server = await startServer(dir);
  const bad = await client(server.remote, ['schedule', 'det', 'vp-1', writeScript(tempDir(), 'x.sh', 'true\n'), '--verify']);
  assert.equal(bad.code, 124, 'a bare --verify is bad usage');
  assert.match(bad.err, /--verify needs a value/);
  await scheduleJob(server, 'det', 'vp-1', '#!/bin/sh\necho building\necho hello > out.txt\nmkdir -p sub\nseq 1 500 > sub/list.txt\n', ['--period', 'never', '--verify', '2']);
  await scheduleJob(server, 'other', 'vp-1', '#!/bin/sh\necho other\n');
  const a = startWorker(server.remote, 'vp-1', ['--loop']);
  await clientJson(server.remote, ['execute', 'det']);
  const id = await groupOf(dir, 'det');
  await workerIdle(server, 1);
  // Build 2 waits for another worker; a job queued behind it is not held up.
  await clientJson(server.remote, ['execute', 'other']);
  await waitFor('other to run on the only worker', () => storedResults(dir, 'other').length === 1, 30_000);
  const info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.queues[0].jobs.map((j: { name: string }) => j.name), ['det'], 'build 2 still waits for a second worker');
  assert.equal(readGroup(dir, id).phase, 'building');

  const b = startWorker(server.remote, 'vp-1', ['--loop']);
  const g = await decided(dir, id);
  assert.deepEqual(g.outcome, { kind: 'reproducible' });
  assert.equal(g.distinct, 'workers', 'one host: different worker processes');
  const [m1, m2] = g.members;
  assert.notEqual(m1.worker.instance, m2.worker.instance, 'built by two worker processes');
  assert.notEqual(m1.worker.id, m2.worker.id);

  const runs = storedResults(dir, 'det');
  assert.equal(runs.length, 2, 'each build is a normal stored run');
  for (const r of runs) {
    assert.deepEqual(r.result.outcome, { kind: 'exited', code: 0 });
    assert.ok(readFileSync(join(r.dir, 'console.ndjson'), 'utf8').includes('building'), 'with its console');
    for (const art of r.result.artifacts) assert.equal(art.sha256, sha256(join(r.dir, 'artifacts', art.path)), `sha256 of ${art.path} as stored`);
  }
  const results = await clientJson(server.remote, ['results', 'det']);
  assert.equal(results[0].group.outcome, 'reproducible');
  assert.ok(results[0].files.every((f: { sha256?: string }) => /^[0-9a-f]{64}$/.test(f.sha256 ?? '')));
  const human = await client(server.remote, ['results', 'det']);
  assert.match(human.out, /verify [12]\/2 reproducible/);
  assert.ok(human.out.includes(runs[0]!.result.artifacts[0].sha256), 'results prints the sha256');

  const cmp = await clientJson(server.remote, ['compare', runs[0]!.result.run_id, runs[1]!.result.run_id]);
  assert.equal(cmp.same, true);
  assert.deepEqual(cmp.paths.map((p: { path: string; status: string }) => `${p.path} ${p.status}`), ['out.txt same', 'sub/list.txt same']);
  const fetched = tempDir();
  const f = await client(server.remote, ['fetch', runs[0]!.result.run_id, fetched]);
  assert.equal(f.code, 0, f.err);
  assert.match(f.out, /sha256 checked/);
  assert.ok(f.out.includes(sha256(join(fetched, 'out.txt'))));
  void a;
  void b;
});

test('a job that writes the time into an artifact ends differs naming that file; compare, the status page and metrics show it', async () => {
  const dir = tempDir();
  const server = await startStatusServer(dir);
  const from = join(tempDir(), 'jobs.ndjson');
  const script = '#!/bin/sh\necho same > same.txt\nprintf "built\\nat %s\\nend\\n" "$(date +%s%N)" > stamp.txt\n';
  writeFileSync(from, JSON.stringify({ name: 'clock', platform: 'vp-2', script, period: 'never', verify: 2 }) + '\n');
  const r = await client(server.remote, ['schedule', '--from', from]);
  assert.equal(r.code, 0, r.err);
  assert.equal((await clientJson(server.remote, ['info'])).schedule[0].verify, 2, 'the verify field of a --from line is kept');
  startWorker(server.remote, 'vp-2', ['--loop']);
  startWorker(server.remote, 'vp-2', ['--loop']);
  await clientJson(server.remote, ['execute', 'clock']);
  const id = await groupOf(dir, 'clock');
  const g = await decided(dir, id);
  assert.equal(g.outcome.kind, 'differs');
  assert.deepEqual(g.outcome.paths, [{ path: 'stamp.txt', why: 'sha256 differs' }]);

  const [x, y] = g.members.map((m: { run_id: string }) => m.run_id);
  const cmp = await clientJson(server.remote, ['compare', x, y]);
  assert.equal(cmp.same, false);
  const stamp = cmp.paths.find((p: { path: string }) => p.path === 'stamp.txt');
  assert.equal(stamp.status, 'different');
  assert.notEqual(stamp.a.sha256, stamp.b.sha256);
  assert.ok(stamp.diff.some((l: string) => /^-at \d+$/.test(l)) && stamp.diff.some((l: string) => /^\+at \d+$/.test(l)), `a diff excerpt: ${stamp.diff.join('|')}`);
  assert.equal(cmp.paths.find((p: { path: string }) => p.path === 'same.txt').status, 'same');
  const human = await client(server.remote, ['compare', x, y]);
  assert.equal(human.code, 0, human.err);
  assert.match(human.out, /different +stamp\.txt/);
  assert.match(human.out, /1 same, 1 different, 0 missing/);
  const results = await clientJson(server.remote, ['results', 'clock']);
  assert.deepEqual(results[0].group.differs, ['stamp.txt']);

  const overview = await get(server, '/');
  assert.match(overview.body, new RegExp(`href="/groups/${id}"[^>]*><span class="badge bad">differs: 1 path</span>`), 'the job carries its badge');
  const page = await get(server, `/groups/${id}`);
  assert.equal(page.status, 200);
  assert.match(page.body, /<span class="mono">stamp\.txt<\/span><\/td><td>sha256 differs/);
  assert.ok(!page.body.includes('>same.txt<'), 'only differing paths are listed');
  const run = await get(server, `/runs/${x}/console`);
  assert.match(run.body, /build [12] of 2/);
  assert.match(run.body, /sha256 [0-9a-f]{64}/);
  assert.equal((await get(server, '/groups/00000000-0000-0000-0000-000000000000')).status, 404);
  const metrics = (await get(server, '/metrics')).body;
  assert.match(metrics, /^builder_verify_groups_total\{outcome="differs"\} 1$/m);
  assert.match(metrics, /^builder_verify_groups_total\{outcome="reproducible"\} 0$/m);
  assert.match(metrics, /^builder_verify_jobs_differing 1$/m);
});

test('a server SIGKILL between the two builds still ends with a group outcome after the restart', async () => {
  const dir = tempDir();
  let server = await startServer(dir);
  await scheduleJob(server, 'kill', 'vp-3', '#!/bin/sh\necho fixed > out.txt\n', ['--period', 'never', '--verify', '2']);
  const a = startWorker(server.remote, 'vp-3', ['--loop']);
  await clientJson(server.remote, ['execute', 'kill']);
  const id = await groupOf(dir, 'kill');
  await waitFor('build 1 in the group record', () => readGroup(dir, id).members[0].run_id !== null, 30_000);
  server.child.kill('SIGKILL');
  await server.exited;
  server = await startServer(dir, [], server.port);
  // The first worker reconnects (same process): build 2 still waits for another one.
  await workerIdle(server, 1);
  assert.equal(readGroup(dir, id).phase, 'building');
  startWorker(server.remote, 'vp-3', ['--loop']);
  const g = await decided(dir, id);
  assert.deepEqual(g.outcome, { kind: 'reproducible' });
  assert.notEqual(g.members[0].worker.instance, g.members[1].worker.instance);
  const cmp = await clientJson(server.remote, ['compare', g.members[0].run_id, g.members[1].run_id]);
  assert.equal(cmp.same, true);
  void a;
});

test('a group record whose builds were never queued (a crash between the two) is repaired at start: the builds are queued and decided', async () => {
  const dir = tempDir();
  let server = await startServer(dir);
  const script = '#!/bin/sh\necho fixed > out.txt\n';
  await scheduleJob(server, 'torn', 'vp-4', script, ['--period', 'never', '--verify', '2']);
  server.child.kill('SIGKILL');
  await server.exited;
  const id = '0f0e0d0c-0b0a-4909-8807-060504030201';
  const member = (index: number) => ({ index, run_id: null, worker: null, outcome: null, finished: null, artifacts: [] });
  const record = {
    version: 1,
    group_id: id,
    job: 'torn',
    platform: 'vp-4',
    builds: 2,
    created: new Date().toISOString(),
    script_sha256: createHash('sha256').update(script).digest('hex'),
    members: [member(1), member(2)],
    phase: 'building',
    outcome: null,
    decided: null,
    distinct: null,
  };
  writeFileSync(groupFile(dir, id), JSON.stringify(record, null, 2));
  server = await startServer(dir);
  assert.match(server.err(), /verify group 0f0e0d0c-0b0a-4909-8807-060504030201 build 1 was lost in a restart: queued again/);
  startWorker(server.remote, 'vp-4', ['--loop']);
  startWorker(server.remote, 'vp-4', ['--loop']);
  const g = await decided(dir, id);
  assert.deepEqual(g.outcome, { kind: 'reproducible' });
  assert.equal(storedResults(dir, 'torn').length, 2);
});
