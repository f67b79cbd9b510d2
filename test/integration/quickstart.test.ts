import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnProgram, tempDir } from './harness.js';

test('the quick start runs the example job end to end with a spool under ./var', async () => {
  const cwd = tempDir();
  const p = spawnProgram('quickstart', ['--exit-after-run'], { cwd });
  const { code } = await p.exited;
  assert.equal(code, 0, p.err());
  assert.match(p.out(), /step: compile/, `the console is streamed live; stderr: ${p.err()}`);
  assert.match(p.out(), /outcome: \{"kind":"exited","code":0\}/);
  const where = /stored in (\S+)/.exec(p.out())![1]!;
  assert.ok(where.startsWith(join(cwd, 'var', 'results', 'example')));
  assert.ok(existsSync(join(where, 'bin', 'hello')));
  assert.match(readFileSync(join(where, 'build-environment'), 'utf8'), /Linux|FreeBSD/);
});
