import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { clientJson, scheduleJob, startServer, startWorker, storedConsole, storedResults, tempDir, waitFor } from './harness.js';

// Issue 14: a run that hit --max-console-bytes before the server restarted.
// The restarted server counts where the run's console stands from its file:
// the lines kept, then the notice in place of the line that crossed the
// limit. The lines past it, which the worker resends, are dropped again,
// and the outcome still says the console went over the limit.

const CAP = 1024;

/** 60 lines of 40 bytes at once (over the 1 KiB limit), then 10 more over 3 s while the server restarts. */
function jobScript(out: string): string {
  return `#!/bin/sh
i=1
while [ $i -le 60 ]; do
  printf 'fast line %03d .........................\\n' $i
  i=$((i+1))
done
echo fast > ${out}/progress
i=1
while [ $i -le 10 ]; do
  echo "slow line $i"
  sleep 0.3
  i=$((i+1))
done
echo done > ${out}/progress
`;
}

const consoleFile = (dir: string, runId: string) => join(dir, 'running', runId, 'console.ndjson');
const fileLines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l).line as string) : []);

test('a run over --max-console-bytes across a server restart: the console keeps the lines before the limit and one notice, nothing after, and the outcome says it went over', async () => {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  const flags = ['--heartbeat', '1', '--reattach-grace', '20', '--max-console-bytes', String(CAP)];
  let server = await startServer(dir, flags);
  await scheduleJob(server, 'noisy', 'cap-1', jobScript(out));
  await clientJson(server.remote, ['execute', 'noisy']);
  const worker = startWorker(server.remote, 'cap-1', ['--once']);
  const run = await waitFor('the job to run', async () => (await clientJson(server.remote, ['info'])).running[0]);
  await waitFor('the console to reach the limit', () => fileLines(consoleFile(dir, run.run_id)).some((l) => l.includes('further output discarded')));
  const before = fileLines(consoleFile(dir, run.run_id));
  server.child.kill('SIGKILL');
  await server.exited;
  server = await startServer(dir, flags, server.port);
  assert.equal((await worker.exited).code, 0, worker.err());
  await waitFor('the result to be stored', () => storedResults(dir, 'noisy').length === 1);
  const [only] = storedResults(dir, 'noisy');
  const stored = storedConsole(only!.dir);
  assert.deepEqual(stored, before, 'the console as it was when the limit was hit: no line resent past it is stored');
  const kept = stored.slice(0, -1);
  assert.deepEqual(kept, Array.from({ length: kept.length }, (_, i) => `fast line ${String(i + 1).padStart(3, '0')} .........................`), 'the lines before the limit, once and in order');
  assert.match(stored.at(-1)!, /^builder-server: console exceeds the limit of 1 KiB \(--max-console-bytes\); further output discarded$/);
  assert.equal(only!.result.outcome.kind, 'failed');
  assert.match(only!.result.outcome.message, /^exited 0, but console exceeds the limit/);
  assert.match(server.err(), /resumed the run from line 2\d/);
});
