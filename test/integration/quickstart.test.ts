import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnProgram, tempDir, waitFor } from './harness.js';

test('the quick start runs the example job end to end with a spool under ./var and its status page on', async () => {
  const cwd = tempDir();
  const p = spawnProgram('quickstart', ['--exit-after-run'], { cwd });
  // The page answers while the example runs.
  const page = await waitFor('the status page line', () => /^status page: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(p.out()), 60_000);
  assert.equal((await fetch(new URL('healthz', page[1])).catch(() => null))?.status, 200, 'the page URL printed is the page');
  const { code } = await p.exited;
  assert.equal(code, 0, p.err());
  const all = p.out() + p.err();
  assert.match(p.out(), /step: compile/, `the console is streamed live; stderr: ${p.err()}`);
  assert.match(p.out(), new RegExp(`^spool: ${join(cwd, 'var')} \\(new; it persists between starts: rm -rf .* for a fresh one\\)$`, 'm'));
  assert.match(p.out(), /^server: 127\.0\.0\.1:\d+ \((the client's default remote|port 1234 is taken by another program, .*--remote 127\.0\.0\.1:\d+.*)\)$/m);
  // (The [server] and [worker] log lines on stderr say it too, as logs do.)
  assert.equal(p.out().match(/exited 0/g)?.length, 1, `the outcome is said once: ${p.out()}`);
  assert.match(p.out(), /^outcome: exited 0$/m);
  assert.ok(!all.includes('"kind"'), 'no raw JSON');
  const where = /stored in (\S+)/.exec(p.out())![1]!;
  assert.ok(where.startsWith(join(cwd, 'var', 'results', 'example')));
  assert.ok(existsSync(join(where, 'bin', 'hello')));
  assert.match(readFileSync(join(where, 'build-environment'), 'utf8'), /Linux|FreeBSD/);
});

test('a second quick start says the spool is kept, and picks a free port when 1234 is taken', async () => {
  const cwd = tempDir();
  assert.equal((await spawnProgram('quickstart', ['--exit-after-run'], { cwd }).exited).code, 0);
  // Hold 1234 (if another program already holds it, that is the same case).
  const holder = net.createServer();
  await new Promise<void>((r) => holder.once('error', () => r()).listen({ host: '127.0.0.1', port: 1234 }, () => r()));
  try {
    const p = spawnProgram('quickstart', ['--exit-after-run'], { cwd });
    const { code } = await p.exited;
    assert.equal(code, 0, p.err());
    assert.match(p.out(), /^spool: .*var \(from an earlier start, kept: 0 other scheduled jobs and 0 queued runs there may run now; rm -rf .* for a fresh one\)$/m);
    const m = /^server: 127\.0\.0\.1:(\d+) \(port 1234 is taken by another program, so this one picked a free port: give the client --remote 127\.0\.0\.1:(\d+) or set BUILDER_REMOTE=127\.0\.0\.1:\d+\)$/m.exec(p.out());
    assert.ok(m, p.out());
    assert.notEqual(m[1], '1234');
    assert.equal(m[1], m[2]);
  } finally {
    holder.close();
  }
});
