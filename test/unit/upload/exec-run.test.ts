import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Outcome } from '../../../src/protocol/types.js';
import type { ResultRecord } from '../../../src/spool/records.js';
import { decodeExec } from '../../../src/upload/exec-decode.js';
import { encodeExec } from '../../../src/upload/exec-encode.js';
import { readStoredRun } from '../../../src/upload/exec-run.js';

const RUN_ID = '7d444840-9dc0-11d1-b245-5ffdce74fad2';

/** Writes results/<job>/<run-id>/ as the spool leaves it and returns the run dir. */
async function storeRun(outcome: Outcome, files: Record<string, Buffer>, sizeOverride?: number): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'builder-exec-run-'));
  const runDir = join(root, 'results', 'demo', RUN_ID);
  await mkdir(join(runDir, 'artifacts', 'bin'), { recursive: true });
  for (const [p, data] of Object.entries(files)) await writeFile(join(runDir, 'artifacts', p), data);
  const record: ResultRecord = {
    version: 1,
    run_id: RUN_ID,
    job: { name: 'demo', platform: 'debian-12', script: 'make\n', timeout_s: 3600 },
    started: '2026-11-28T14:59:54.992Z',
    finished: '2026-11-28T14:59:56Z',
    outcome,
    artifacts: Object.entries(files).map(([path, d]) => ({ path, size: sizeOverride ?? d.length, mode: 0o644 })),
    console_lines: 2,
    retries: 0,
    worker: null,
  };
  await writeFile(join(runDir, 'result.json'), JSON.stringify(record, null, 2));
  await writeFile(join(runDir, 'console.ndjson'), '{"t":1000,"line":"first"}\n{"t":2000,"line":"second ✓"}\n');
  return runDir;
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of body) parts.push(b);
  return Buffer.concat(parts);
}

test('a stored run becomes an Exec blob that decodes to the same run', async (t) => {
  const runDir = await storeRun({ kind: 'exited', code: 0 }, {
    'bin/demo': Buffer.from([0, 1, 2, 255]),
    'opam-switch': Buffer.from('opam-version: "2.0"\n'),
  });
  t.after(() => rm(join(runDir, '..', '..', '..'), { recursive: true, force: true }));
  const run = await readStoredRun(runDir);
  assert.deepEqual(run.job, { name: 'demo', script: 'make\n', files: [], platform: 'debian-12' });
  assert.deepEqual(run.started, { seconds: Date.parse('2026-11-28T14:59:54Z') / 1000, fraction: '992' });
  assert.deepEqual(run.finished, { seconds: Date.parse('2026-11-28T14:59:56Z') / 1000, fraction: '' });
  const d = decodeExec(await collect(encodeExec(run).body()));
  assert.equal(d.uuid, RUN_ID);
  assert.deepEqual(d.console.map((l) => [l.delta, l.line.toString()]), [[1000, 'first'], [2000, 'second ✓']]);
  assert.deepEqual(d.artifacts.map((a) => [a.path.toString(), a.data.toString('hex')]), [
    ['bin/demo', '000102ff'],
    ['opam-switch', Buffer.from('opam-version: "2.0"\n').toString('hex')],
  ]);
  assert.deepEqual(d.result, { kind: 'exited', code: 0 });
});

test('each outcome maps onto its Result alternative', async (t) => {
  const outcomes: Outcome[] = [
    { kind: 'exited', code: 2 },
    { kind: 'signalled', signal: 9 },
    { kind: 'stopped', signal: 19 },
    { kind: 'failed', message: 'timed out' },
  ];
  for (const o of outcomes) {
    const runDir = await storeRun(o, {});
    t.after(() => rm(join(runDir, '..', '..', '..'), { recursive: true, force: true }));
    const d = decodeExec(await collect(encodeExec(await readStoredRun(runDir)).body()));
    const got = d.result.kind === 'failed' ? { kind: 'failed', message: d.result.message.toString('utf8') } : d.result;
    assert.deepEqual(got, o);
  }
});

test('an artifact whose size on disk disagrees with result.json is refused up front', async (t) => {
  const runDir = await storeRun({ kind: 'exited', code: 0 }, { 'bin/demo': Buffer.from('abc') }, 4);
  t.after(() => rm(join(runDir, '..', '..', '..'), { recursive: true, force: true }));
  await assert.rejects(readStoredRun(runDir), /artifact bin\/demo is 3 bytes on disk, result\.json says 4/);
});

test('a missing run dir is a bad_run error naming the file', async () => {
  await assert.rejects(readStoredRun('/nonexistent/run'), (err: unknown) => {
    assert.equal((err as { code: string }).code, 'bad_run');
    assert.match((err as Error).message, /cannot read stored run \/nonexistent\/run\/result\.json: no such file or directory/);
    return true;
  });
});
