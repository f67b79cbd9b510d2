import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeExec } from '../../src/upload/exec-encode.js';
import { execTimeOfDate } from '../../src/upload/exec-run.js';
import { spawnProgram, tempDir } from './harness.js';

// A blob of an old original run has no `platform` field (it is OPTIONAL):
// the original's decoder shows `no-platform`, and so does inspect.

test('inspect of an original blob without a platform shows no-platform, in text and JSON', async () => {
  const body = encodeExec({
    job: { name: 'old-job', script: 'true\n', files: [], platform: null },
    uuid: '01234567-89ab-cdef-0123-456789abcdef',
    console: [{ delta: 1, line: 'hi' }],
    started: execTimeOfDate(new Date('2020-01-02T03:04:05Z')),
    finished: execTimeOfDate(new Date('2020-01-02T03:04:06Z')),
    result: { kind: 'exited', code: 0 },
    artifacts: [],
  });
  const parts: Buffer[] = [];
  for await (const b of body.body()) parts.push(b);
  const file = join(tempDir(), 'old.full');
  writeFileSync(file, Buffer.concat(parts));
  const run = async (args: string[]) => {
    const p = spawnProgram('builder-client', ['inspect', ...args, file]);
    const { code } = await p.exited;
    assert.equal(code, 0, p.err());
    return p.out();
  };
  assert.match(await run([]), /^platform {2}no-platform$/m);
  assert.match(await run(['--job']), /^platform {2}no-platform$/m);
  assert.equal(JSON.parse(await run(['--json'])).platform, 'no-platform');
});
