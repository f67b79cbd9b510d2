import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { decodeExec } from '../../src/upload/exec-decode.js';
import { encodeExec } from '../../src/upload/exec-encode.js';
import { ROOT, client, scheduleJob, spawnProgram, startServer, startWorker, storedResults, tempDir, waitFor } from './harness.js';

// inspect runs offline: no --remote, no server. The fixtures are results
// written by the original OCaml server (copies of ../shared/fixtures).
const FIXTURES = join(ROOT, 'test', 'fixtures', 'builder-full');

async function inspect(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawnProgram('builder-client', ['inspect', ...args]);
  const { code } = await p.exited;
  return { code, out: p.out(), err: p.err() };
}

test('inspect reads every result file of the original server, with no server running', async () => {
  const expected: Record<string, unknown> = {
    'fx-ok.full': { kind: 'exited', code: 0 },
    'fx-fail.full': { kind: 'exited', code: 3 },
    'fx-sig.full': { kind: 'exited', code: 143 },
    'fx-empty.full': { kind: 'exited', code: 0 },
  };
  for (const name of readdirSync(FIXTURES).filter((n) => n.endsWith('.full'))) {
    const r = await inspect(['--json', join(FIXTURES, name)]);
    assert.equal(r.code, 0, r.err);
    const v = JSON.parse(r.out);
    assert.equal(v.name, name.replace('.full', ''));
    assert.equal(v.platform, 'fixture-plat');
    assert.deepEqual(v.outcome, expected[name]);
    assert.equal(v.run_id, decodeExec(readFileSync(join(FIXTURES, name))).uuid);
  }
  const ok = join(FIXTURES, 'fx-ok.full');
  const summary = await inspect([ok]);
  assert.match(summary.out, /^job {7}fx-ok$/m);
  assert.match(summary.out, /outcome {3}exited 0/);
  assert.match(summary.out, /^ +19 {2}[0-9a-f]{64} {2}bin\/demo\.bin$/m, 'size, sha256 (computed from the blob), path');
  const consoleOut = await inspect([ok, '--console']);
  assert.deepEqual(consoleOut.out.trim().split('\n'), ['building demo', 'résumé ✓ unicode line', 'to stderr', 'done'], 'oldest line first');
  const script = await inspect(['--script', ok]);
  assert.equal(script.out, decodeExec(readFileSync(ok)).job.script.toString().replace(/\n$/, '') + '\n');
  const job = await inspect(['--job', ok]);
  assert.match(job.out, /^name {6}fx-ok\nplatform {2}fixture-plat\nscript:\n#!\/bin\/sh/);

  const out = join(tempDir(), 'out');
  assert.equal((await inspect([ok, '--output', out])).code, 0);
  for (const a of decodeExec(readFileSync(ok)).artifacts) assert.ok(readFileSync(join(out, a.path.toString())).equals(a.data), `${a.path}`);
  const again = await inspect([ok, '--output', out]);
  assert.equal(again.code, 123, 'existing files are not overwritten');
  assert.match(again.err, /already exists/);
});

test('inspect of a stored result dir and of its run.der print the same run', async () => {
  const server = await startServer(tempDir(), ['--save-format', 'der']);
  await scheduleJob(server, 'local', 'in-1', '#!/bin/sh\necho alpha\necho beta\nmkdir -p bin && printf xyz > bin/tool\n');
  assert.equal((await client(server.remote, ['execute', 'local'])).code, 0);
  startWorker(server.remote, 'in-1');
  const stored = await waitFor('the stored run with its run.der', () => storedResults(server.dir, 'local').find((s) => existsSync(join(s.dir, 'run.der'))));
  const fromDir = await inspect(['--json', '--console', '--script', stored.dir]);
  const fromDer = await inspect(['--json', '--console', '--script', join(stored.dir, 'run.der')]);
  assert.equal(fromDir.code, 0, fromDir.err);
  assert.equal(fromDer.code, 0, fromDer.err);
  assert.deepEqual(JSON.parse(fromDer.out), JSON.parse(fromDir.out));
  const v = JSON.parse(fromDir.out);
  assert.equal(v.run_id, stored.result.run_id);
  assert.deepEqual(v.console.map((l: { line: string }) => l.line), ['alpha', 'beta']);
  // The sha256 recorded in result.json equals the one computed from run.der's bytes (the deepEqual above).
  assert.deepEqual(v.artifacts, [{ path: 'bin/tool', size: 3, sha256: createHash('sha256').update('xyz').digest('hex') }]);
  const out = join(tempDir(), 'arts');
  assert.equal((await inspect([stored.dir, '--output', out])).code, 0);
  assert.equal(readFileSync(join(out, 'bin', 'tool'), 'utf8'), 'xyz');
});

test('inspect fails with one line: 123 for a missing file, bad DER or an escaping path; 124 for bad usage', async () => {
  const dir = tempDir();
  const missing = await inspect([join(dir, 'nope.full')]);
  assert.equal(missing.code, 123);
  assert.match(missing.err, /^builder-client: cannot inspect .*nope\.full: no such file or directory/);
  const truncated = join(dir, 'cut.full');
  writeFileSync(truncated, readFileSync(join(FIXTURES, 'fx-ok.full')).subarray(0, 200));
  const bad = await inspect([truncated]);
  assert.equal(bad.code, 123);
  assert.match(bad.err, /is not a builder result: bad DER at byte \d+ .*truncated/);
  assert.equal(bad.err.trim().split('\n').length, 1);

  const evil = encodeExec({
    job: { name: 'evil', script: '', files: [], platform: 'p' },
    uuid: '00000000-0000-4000-8000-000000000001',
    console: [],
    started: { seconds: 0, fraction: '' },
    finished: { seconds: 1, fraction: '' },
    result: { kind: 'exited', code: 0 },
    artifacts: [{ path: '../escaped', size: 2, open: () => Readable.from([Buffer.from('no')]) }],
  });
  const parts: Buffer[] = [];
  for await (const b of evil.body()) parts.push(b);
  writeFileSync(join(dir, 'evil.der'), Buffer.concat(parts));
  const escaped = await inspect([join(dir, 'evil.der'), '--output', join(dir, 'x')]);
  assert.equal(escaped.code, 123);
  assert.match(escaped.err, /refused: contains "\.\."/);
  assert.ok(!existsSync(join(dir, 'escaped')), 'nothing written outside --output');

  assert.equal((await inspect([])).code, 124);
  assert.equal((await inspect(['a.full', 'b.full'])).code, 124);
  assert.equal((await inspect(['a.full', '--output'])).code, 124);
  assert.equal((await inspect(['a.full', '--bogus'])).code, 124);
});
