import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { scheduleJob, startServer, storedConsole, storedResults, tempDir, waitFor } from './harness.js';
import { RawPeer, workerHello } from './peers.js';

/** Every regular file under `dir` (not following links). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...filesUnder(p));
    else if (d.isFile()) out.push(p);
  }
  return out;
}

test('a hostile worker\'s artifact paths that escape the run (.., absolute, NUL, through a link) are refused; nothing is written outside', async () => {
  const base = tempDir();
  const spool = join(base, 'spool');
  const outside = join(base, 'outside');
  mkdirSync(outside);
  const server = await startServer(spool);
  await scheduleJob(server, 'loot', 'trav-1', '#!/bin/sh\ntrue\n', ['--period', 'daily']);
  const w = new RawPeer(server.port);
  w.send(workerHello('trav-1'));
  w.send({ type: 'job_requested' });
  const job = await waitFor('the job to reach the hostile worker', () => w.lines().find((m) => m.type === 'job'));
  const id: string = job.run_id;
  // Links planted in the run's directory (as if left by anything else): one to /etc (written through as etc/passwd,
  // which O_EXCL could never overwrite even if the check failed), one to a directory the test watches.
  const arts = join(spool, 'running', id, 'artifacts');
  mkdirSync(arts, { recursive: true });
  symlinkSync(outside, join(arts, 'escape'));
  symlinkSync('/etc', join(arts, 'etc'));

  const send = (path: string, body: string) => {
    w.send({ type: 'artifact', run_id: id, path, size: Buffer.byteLength(body), mode: 0o644 });
    w.write(body);
  };
  const hostile = ['../x', '/etc/passwd', 'a/../../b', 'escape/planted', 'etc/passwd', 'nul\0.txt', '..', 'a\\..\\..\\c', ''];
  for (const p of hostile) send(p, 'EVIL');
  send('good/file.txt', 'GOOD');
  w.send({ type: 'job_finished', run_id: id, outcome: { kind: 'exited', code: 0 } });
  const run = await waitFor('the run to be stored', () => storedResults(spool, 'loot')[0]);

  assert.deepEqual(run.result.artifacts.map((a: any) => a.path), ['good/file.txt'], 'only the confined artifact is kept');
  assert.equal(readFileSync(join(run.dir, 'artifacts', 'good', 'file.txt'), 'utf8'), 'GOOD');
  const refusals = storedConsole(run.dir).filter((l) => l.startsWith('builder-server: artifact refused'));
  assert.equal(refusals.length, hostile.length, refusals.join('\n'));
  assert.match(refusals.join('\n'), /contains "\.\."/);
  assert.match(refusals.join('\n'), /absolute/);
  assert.match(refusals.join('\n'), /NUL byte/);
  assert.match(refusals.join('\n'), /escape is a symbolic link/);
  assert.match(refusals.join('\n'), /etc is a symbolic link/);
  assert.deepEqual(readdirSync(outside), [], 'nothing was written through the link');
  const evil = filesUnder(base).filter((f) => readFileSync(f, 'utf8') === 'EVIL');
  assert.deepEqual(evil, [], 'no hostile bytes landed anywhere');

  // The protocol has no way to send a link or a device: a mode beyond permission bits is refused outright.
  w.send({ type: 'artifact', run_id: id, path: 'lnk', size: 4, mode: 0o120777 });
  await waitFor('the worker sending a link to be disconnected', () => w.closed);
  assert.match(w.lines().at(-1).message, /field "mode" must be an integer from 0 to 4095/);
  assert.equal(server.child.exitCode, null);
});
