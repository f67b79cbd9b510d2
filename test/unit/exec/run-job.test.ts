import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runJob } from '../../../src/exec/run-job.js';

test('a job cancelled while it is being set up never starts', async () => {
  const mark = join(mkdtempSync(join(os.tmpdir(), 'run-job-')), 'ran');
  const abort = new AbortController();
  abort.abort(new Error('cancelled by an operator'));
  const lines: string[] = [];
  const r = await runJob({ name: 'a', platform: 'p', script: `#!/bin/sh\ntouch ${mark}\n`, timeout_s: 60 }, { signal: abort.signal, onLine: async (_t, l) => void lines.push(l) });
  assert.deepEqual(r.outcome, { kind: 'failed', message: 'stopped before it started: cancelled by an operator' });
  assert.equal(existsSync(mark), false, 'the script did not run');
  if (r.dir) rmSync(r.dir, { recursive: true, force: true });
});
