import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { confineArtifactPath } from '../../../src/spool/paths.js';
import { Spool } from '../../../src/spool/spool.js';
import { ROOT } from '../../integration/harness.js';

const fresh = () => Spool.open(mkdtempSync(join(os.tmpdir(), 'spool-unit-')));
const job = (name: string) => ({ name, platform: 'p-1', script: '#!/bin/sh\n', timeout_s: 60 });

test('records are pretty-printed, versioned JSON that people can read', async () => {
  const spool = await fresh();
  const file = '0000000000000001-a.json';
  await spool.putQueued(file, { version: 1, job: job('a'), queued: '2026-01-01T00:00:00.000Z', retries: 0 });
  const text = readFileSync(spool.path('queue', 'p-1', file), 'utf8');
  assert.match(text, /^\{\n {2}"version": 1,/);
  assert.deepEqual(readdirSync(spool.path('tmp')), [], 'nothing is left in tmp/');
});

test('a claim is a rename: a job removed meanwhile is not claimed', async () => {
  const spool = await fresh();
  const f = '0000000000000001-a.json';
  await spool.putQueued(f, { version: 1, job: job('a'), queued: '', retries: 0 });
  await spool.removeQueued('p-1', f);
  const got = await spool.claim('p-1', f, () => ({ version: 1, run_id: 'r', job: job('a'), retries: 0, queued: '', started: '', worker: null as never }));
  assert.equal(got, null);
  assert.deepEqual(await spool.runningIds(), []);
});

test('a record that does not parse is quarantined with its reason, never deleted', async () => {
  const spool = await fresh();
  mkdirSync(spool.path('queue', 'p-1'), { recursive: true });
  writeFileSync(spool.path('queue', 'p-1', 'broken.json'), '{"job": ');
  assert.equal(await spool.readQueued('p-1', 'broken.json'), null);
  const q = readdirSync(spool.path('quarantine'));
  assert.equal(q.length, 2);
  const moved = q.find((n) => !n.endsWith('.reason'))!;
  assert.equal(readFileSync(spool.path('quarantine', moved), 'utf8'), '{"job": ');
  assert.match(readFileSync(spool.path('quarantine', `${moved}.reason`), 'utf8'), /not valid JSON/);
});

test('a hand-written queue file needs only a job name and script', async () => {
  const spool = await fresh();
  mkdirSync(spool.path('queue', 'p-1'), { recursive: true });
  writeFileSync(spool.path('queue', 'p-1', 'by-hand.json'), '{"job":{"name":"manual","script":"echo hi"}}');
  const item = await spool.readQueued('p-1', 'by-hand.json');
  assert.equal(item!.job.name, 'manual');
  assert.equal(item!.job.platform, 'p-1');
  assert.equal(item!.job.timeout_s, 3600);
});

test('spool records of format version 1 written by 0.1.0 still load', async () => {
  const spool = await fresh();
  const fixtures = join(ROOT, 'test', 'fixtures', 'spool-v1');
  copyFileSync(join(fixtures, 'schedule-nightly.json'), spool.path('schedule', 'nightly.json'));
  const [entry] = await spool.listSchedule();
  assert.equal(entry!.name, 'nightly');
  assert.equal(entry!.period, 'daily');
  mkdirSync(spool.path('results', 'nightly', '6f1c1e2a-0c1d-4e5f-8a9b-0c1d2e3f4a5b'), { recursive: true });
  copyFileSync(join(fixtures, 'result.json'), spool.path('results', 'nightly', '6f1c1e2a-0c1d-4e5f-8a9b-0c1d2e3f4a5b', 'result.json'));
  const r = await spool.readResult('nightly', '6f1c1e2a-0c1d-4e5f-8a9b-0c1d2e3f4a5b');
  assert.deepEqual(r!.outcome, { kind: 'exited', code: 0 });
});

test('artifact paths are confined to the run directory', () => {
  assert.equal(confineArtifactPath('bin/./hello'), 'bin/hello');
  for (const bad of ['../x', '/etc/passwd', 'a/../../b', 'a\0b', '', 'a\\..\\b']) assert.throws(() => confineArtifactPath(bad), /refused/);
});

test('an artifact is hashed as it is written: the sha256 is that of the bytes on disk; old results without it still load', async () => {
  const spool = await fresh();
  mkdirSync(spool.path('running', 'r1'), { recursive: true });
  const { stream } = await spool.openArtifact('r1', 'dir/big.bin', 0o644);
  const chunks = [Buffer.alloc(3 << 20, 7), Buffer.from('tail')];
  for (const c of chunks) stream.write(c);
  await new Promise<void>((r, f) => stream.end((e?: Error | null) => (e ? f(e) : r())));
  const { createHash } = await import('node:crypto');
  const onDisk = readFileSync(spool.path('running', 'r1', 'artifacts', 'dir', 'big.bin'));
  assert.equal(stream.sha256(), createHash('sha256').update(onDisk).digest('hex'));
  assert.equal(onDisk.length, (3 << 20) + 4);

  const fixtures = join(ROOT, 'test', 'fixtures', 'spool-v1');
  mkdirSync(spool.path('results', 'nightly', '6f1c1e2a-0c1d-4e5f-8a9b-0c1d2e3f4a5b'), { recursive: true });
  copyFileSync(join(fixtures, 'result.json'), spool.path('results', 'nightly', '6f1c1e2a-0c1d-4e5f-8a9b-0c1d2e3f4a5b', 'result.json'));
  const r = await spool.readResult('nightly', '6f1c1e2a-0c1d-4e5f-8a9b-0c1d2e3f4a5b');
  assert.equal(r!.artifacts[0]!.path, 'bin/hello');
  assert.equal(r!.artifacts[0]!.sha256, undefined, 'no sha256 in a result stored before hashes were kept');
});
