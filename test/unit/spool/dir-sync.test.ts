import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { dirSyncCount, syncDirShared } from '../../../src/spool/dir-sync.js';

// The group commit of directory fsyncs on a real directory: the count of
// fsyncs made says which callers shared one, and the count when a caller's
// promise resolves says that an fsync begun after its call had returned.

const fresh = () => mkdtempSync(join(os.tmpdir(), 'dir-sync-'));

/** Calls syncDirShared and records the fsync count at the call and when it resolves. */
function tracked(dir: string) {
  const atCall = dirSyncCount();
  const t = { atCall, atDone: -1, done: null as unknown as Promise<void> };
  t.done = syncDirShared(dir).then(() => void (t.atDone = dirSyncCount()));
  return t;
}

test('renames into one directory in one turn share one fsync, and every caller resolves after it', async () => {
  const dir = fresh();
  const src = fresh();
  const before = dirSyncCount();
  const calls = [];
  for (let i = 0; i < 5; i++) {
    writeFileSync(join(src, `f${i}`), `${i}`);
    renameSync(join(src, `f${i}`), join(dir, `f${i}`));
    calls.push(tracked(dir));
  }
  await Promise.all(calls.map((c) => c.done));
  assert.equal(dirSyncCount() - before, 1, 'one fsync for five renames');
  for (const c of calls) assert.equal(c.atDone, before + 1, 'resolved once that fsync returned');
  assert.equal(readdirSync(dir).length, 5);
});

test('a caller that comes once an fsync has begun is not covered by it: it gets an fsync of its own, begun after its call', async () => {
  const dir = fresh();
  const before = dirSyncCount();
  const first = tracked(dir);
  // Wait (each turn) until the first fsync has begun.
  while (dirSyncCount() === before) await new Promise((r) => setImmediate(r));
  const late = tracked(dir);
  const joined = tracked(dir);
  await Promise.all([first.done, late.done, joined.done]);
  assert.ok(first.atDone >= before + 1);
  assert.equal(late.atCall, before + 1, 'it came after the first fsync began');
  assert.equal(late.atDone, before + 2, 'it resolved after a second fsync');
  assert.equal(joined.atDone, before + 2, 'a caller of the same turn shares the second one');
  assert.equal(dirSyncCount() - before, 2);
});

test('different directories are fsynced each on their own', async () => {
  const a = fresh();
  const b = fresh();
  const before = dirSyncCount();
  await Promise.all([syncDirShared(a), syncDirShared(b), syncDirShared(a)]);
  assert.equal(dirSyncCount() - before, 2);
});

test('a failed fsync rejects every caller that shared it, and the next call tries again', async () => {
  const gone = join(fresh(), 'missing');
  const results = await Promise.allSettled([syncDirShared(gone), syncDirShared(gone)]);
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  await assert.rejects(syncDirShared(gone), /ENOENT/);
});
