import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, clientJson, spawnProgram, startServer, tempDir } from './harness.js';

// `builder-server import-state` on the fixture state file (every kind of
// item: schedule entries of a script job, an orb build and a never job, an
// old-form schedule entry, two queues, a dropped platform, an old lone job,
// names we cannot store), then our server started on the spool it wrote.

const STATE = join(ROOT, 'test', 'fixtures', 'original', 'state');

async function importState(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawnProgram('builder-server', ['import-state', ...args]);
  const { code } = await p.exited;
  return { code, out: p.out(), err: p.err() };
}

function configDir(): string {
  const dir = tempDir('builder-config-');
  writeFileSync(join(dir, 'orb-build.template.debian-12'), '#!/bin/sh\nopam install %%OPAM_PACKAGE%% # on %%PLATFORM%%\n');
  return dir;
}

test('--dry-run --json lists every record it would write and what it skips, and writes nothing', async () => {
  const spool = join(tempDir(), 'spool');
  const r = await importState([STATE, '--dir', spool, '--config-dir', configDir(), '--dry-run', '--json']);
  assert.equal(r.code, 0, r.err);
  const v = JSON.parse(r.out);
  assert.equal(v.dry_run, true);
  assert.equal(v.items, 8);
  assert.deepEqual(v.schedule.map((s: { path: string }) => s.path), ['schedule/nightly.json', 'schedule/orb-hello.json', 'schedule/manual.json', 'schedule/legacy.json']);
  const byName = Object.fromEntries(v.schedule.map((s: { record: { name: string } }) => [s.record.name, s.record]));
  assert.deepEqual(byName.nightly, { version: 1, name: 'nightly', period: 'daily', timeout_s: 3600, next: '2030-01-01T00:00:00.000Z', platform: 'debian-12', script: '#!/bin/sh\necho nightly\n' });
  assert.deepEqual(byName['orb-hello'].template, { name: 'orb-build', opam_package: 'hello' });
  assert.equal(byName['orb-hello'].platform, '*');
  assert.equal(byName.manual.next, null, 'period never has no next time');
  assert.equal(byName.legacy.platform, 'no-platform', 'an old entry without a platform gets the original decoder default');
  assert.deepEqual(v.queued.map((q: { path: string; record: { job: { name: string } } }) => `${q.path}${q.record.job.name}`), ['queue/debian-12/nightly', 'queue/debian-12/orb-hello', 'queue/freebsd-14/manual']);
  assert.equal(v.queued[1].record.job.script, '#!/bin/sh\nopam install hello # on debian-12\n', 'a queued orb build is made from its platform template');
  assert.deepEqual(v.platforms, [{ path: 'platforms/ubuntu-20.04.json', record: { version: 1, platform: 'ubuntu-20.04', dropped: true, paused: false } }]);
  assert.deepEqual(v.skipped.map((s: { item: string }) => s.item), ['queued job bad/name on debian-12', 'queued job stray on freebsd-14', 'an old queued script job ancient']);
  assert.equal(existsSync(spool), false, 'a dry run creates nothing');

  const text = await importState([STATE, '--dir', spool, '--config-dir', configDir(), '--dry-run']);
  assert.match(text.out, /^would write schedule\/nightly\.json: nightly on debian-12, daily, next 2030-01-01T00:00:00\.000Z$/m);
  assert.match(text.out, /^would write queue\/freebsd-14\/ \(number 1 in that queue\): manual$/m);
  assert.match(text.out, /^skipped queued job stray on freebsd-14: its platform is debian-12, not its queue's/m);
  assert.match(text.out, /^dry run: would import 4 schedule entries, 3 queued jobs, 1 dropped platforms into .*; nothing was written$/m);
});

test('import writes the spool records; our server starts on them; a second import is refused unless --merge', async () => {
  const spool = tempDir();
  const config = configDir();
  const r = await importState([STATE, '--dir', spool, '--config-dir', config]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^imported 4 schedule entries, 3 queued jobs, 1 dropped platforms into .*; 3 skipped \(above\)$/m);
  assert.deepEqual(readdirSync(join(spool, 'schedule')).sort(), ['legacy.json', 'manual.json', 'nightly.json', 'orb-hello.json']);
  assert.deepEqual(readdirSync(join(spool, 'queue', 'debian-12')).map((f) => f.replace(/^\d{16}-/, '')), ['nightly.json', 'orb-hello.json'], 'queue order kept');
  assert.equal(JSON.parse(readFileSync(join(spool, 'platforms', 'ubuntu-20.04.json'), 'utf8')).dropped, true);

  const server = await startServer(spool, ['--config-dir', config]);
  const info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.schedule.map((e: { name: string }) => e.name), ['legacy', 'manual', 'nightly', 'orb-hello']);
  const queues = Object.fromEntries(info.queues.map((q: { platform: string; jobs: { name: string }[] }) => [q.platform, q.jobs.map((j) => j.name)]));
  assert.deepEqual(queues['debian-12'], ['nightly', 'orb-hello']);
  assert.deepEqual(queues['freebsd-14'], ['manual']);
  assert.deepEqual(queues['no-platform'], ['legacy'], 'the old hourly entry was due, so the server queued it at start');
  assert.deepEqual(info.dropped, ['ubuntu-20.04']);
  assert.ok(!/quarantine/.test(server.err()), 'every record parsed');
  await new Promise<void>((resolve) => {
    server.child.once('close', () => resolve());
    server.child.kill('SIGTERM');
  });

  const again = await importState([STATE, '--dir', spool, '--config-dir', config]);
  assert.equal(again.code, 123);
  assert.match(again.err, /^builder-server: the spool .* already has jobs \(4 scheduled, 4 queued, 0 running\): importing would mix two schedules; use an empty --dir, or --merge/);
  assert.equal(again.err.trim().split('\n').length, 1);
  const merged = await importState([STATE, '--dir', spool, '--config-dir', config, '--merge', '--json']);
  assert.equal(merged.code, 0, merged.err);
  const m = JSON.parse(merged.out);
  assert.equal(m.schedule.length, 0);
  assert.equal(m.queued.length, 0);
  assert.ok(m.skipped.some((s: { item: string; reason: string }) => s.item === 'schedule entry nightly' && /already scheduled in the spool/.test(s.reason)));
});

test('a missing or malformed state file exits 123 with one line', async () => {
  const missing = await importState([join(tempDir(), 'state'), '--dir', tempDir()]);
  assert.equal(missing.code, 123);
  assert.match(missing.err, /^builder-server: cannot read the state file .*: no such file or directory/);
  const bad = join(tempDir(), 'state');
  writeFileSync(bad, Buffer.from('3003a50100', 'hex'));
  const r = await importState([bad, '--dir', tempDir()]);
  assert.equal(r.code, 123);
  assert.match(r.err, /is not an original builder state file: bad DER at byte \d+/);
  const usage = await importState([]);
  assert.equal(usage.code, 124);
});
