import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { client, clientJson, scheduleJob, startServer, startWorker, storedConsole, storedResults, tempDir, waitFor } from './harness.js';

// A spool on a small tmpfs that fills up: an artifact and a console that do
// not fit fail their run with the file and the reason, the session goes on,
// nothing partial is left; the same for `fetch` into a full directory.
// Mounting needs root: as another user the test is skipped with a note.

const root = process.getuid?.() === 0;
const mounts: string[] = [];
after(() => {
  for (const m of mounts) execFileSync('umount', ['-l', m], { stdio: 'ignore' });
});

function smallDisk(mib: number): string {
  const dir = tempDir('builder-full-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m,mode=0700`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

test('an artifact and a console that do not fit on the spool fail their runs, and the server goes on', { skip: root ? false : 'needs root to mount a small tmpfs' }, async () => {
  const server = await startServer(join(smallDisk(8), 'spool'));
  // The big artifact cannot fit; the small one after it must still arrive, in step.
  await scheduleJob(server, 'big', 'df-1', '#!/bin/sh\nhead -c 16777216 /dev/zero > a-big\necho small > b-small\n');
  await scheduleJob(server, 'chatty', 'df-1', "#!/bin/sh\nhead -c 12000000 /dev/zero | tr '\\0' x | fold -w 1000\n");
  await scheduleJob(server, 'after', 'df-1', '#!/bin/sh\necho fine\n');
  startWorker(server.remote, 'df-1', ['--loop']);

  await clientJson(server.remote, ['execute', 'big']);
  await waitFor('the artifact run to be stored', () => storedResults(server.dir, 'big').length === 1, 30000);
  const big = storedResults(server.dir, 'big')[0]!;
  assert.deepEqual(big.result.outcome, { kind: 'failed', message: 'cannot store artifact a-big: no space left on device' });
  assert.deepEqual(big.result.artifacts.map((a: any) => a.path), ['b-small']);
  assert.ok(!existsSync(join(big.dir, 'artifacts', 'a-big')), 'the partial file is removed');
  assert.ok(storedConsole(big.dir).includes('builder-server: cannot store artifact a-big: no space left on device'));

  await clientJson(server.remote, ['execute', 'chatty']);
  await waitFor('the console run to be stored', () => storedResults(server.dir, 'chatty').length === 1, 30000);
  const chatty = storedResults(server.dir, 'chatty')[0]!;
  assert.equal(chatty.result.outcome.kind, 'failed');
  assert.match(chatty.result.outcome.message, /^cannot store console \S+console\.ndjson: no space left on device$/);
  const lines = storedConsole(chatty.dir);
  assert.equal(lines.length, chatty.result.console_lines, 'the stored console is whole lines, as counted');
  assert.ok(lines.every((l) => l === 'x'.repeat(1000)));

  await clientJson(server.remote, ['execute', 'after']);
  await waitFor('the next run', () => storedResults(server.dir, 'after').length === 1, 30000);
  assert.deepEqual(storedResults(server.dir, 'after')[0]!.result.outcome, { kind: 'exited', code: 0 });
  assert.deepEqual(readdirSync(join(server.dir, 'running')), []);
  assert.doesNotMatch(server.err(), /worker lost|protocol error/);
});

test('fetch into a directory that fills up: the files that fit are written, the others removed, exit 123 naming them', { skip: root ? false : 'needs root to mount a small tmpfs' }, async () => {
  const server = await startServer(tempDir());
  await scheduleJob(server, 'two', 'df-2', '#!/bin/sh\nhead -c 4194304 /dev/zero > a-big\necho small > b-small\n');
  startWorker(server.remote, 'df-2');
  await clientJson(server.remote, ['execute', 'two']);
  await waitFor('the run', () => storedResults(server.dir, 'two').length === 1, 30000);
  const id = storedResults(server.dir, 'two')[0]!.result.run_id;
  const into = smallDisk(1);
  const r = await client(server.remote, ['fetch', id, into]);
  assert.equal(r.code, 123, r.err);
  assert.match(r.err, /cannot write \S+a-big: no space left on device \(fetched 1 other artifact;/);
  assert.deepEqual(readdirSync(into), ['b-small']);
});
