import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { clientJson, scheduleJob, spawnProgram, startServer, startWorker, storedConsole, storedResults, tempDir, waitFor } from './harness.js';

test('a job goes from schedule to a stored result with its console and an artifact, and observe follows it live', async () => {
  const server = await startServer(tempDir());
  const gate = join(tempDir(), 'gate');
  await scheduleJob(
    server,
    'hello',
    'testos-1',
    `#!/bin/sh
echo "line one"
echo "to stderr" >&2
i=0; while [ ! -e ${gate} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
echo "line two"
mkdir -p out && printf 'payload' > out/result.txt
exit 0
`,
    ['--period', 'daily'],
  );
  const worker = startWorker(server.remote, 'testos-1');
  const info = await waitFor('the run to start', async () => (await clientJson(server.remote, ['info'])).running[0]);
  assert.equal(info.name, 'hello');
  const observer = spawnProgram('builder-client', ['--remote', server.remote, 'observe', info.run_id]);
  await waitFor('observe to replay the first lines', () => observer.out().includes('to stderr'));
  assert.ok(!observer.out().includes('line two'), 'the job is still held at its gate');
  writeFileSync(gate, '');
  const { code } = await observer.exited;
  assert.equal(code, 0);
  const lines = observer.out().trim().split('\n');
  assert.deepEqual(lines.filter((l) => l !== 'to stderr'), ['line one', 'line two']);
  assert.match(observer.err(), /exited 0/);
  assert.equal((await worker.exited).code, 0, 'a worker runs one job and exits by default');

  const [stored] = storedResults(server.dir, 'hello');
  assert.ok(stored, 'the run is stored');
  assert.equal(stored.result.run_id, info.run_id);
  assert.deepEqual(stored.result.outcome, { kind: 'exited', code: 0 });
  assert.deepEqual(stored.result.artifacts.map((a: { path: string }) => a.path), ['out/result.txt']);
  assert.equal(readFileSync(join(stored.dir, 'artifacts', 'out', 'result.txt'), 'utf8'), 'payload');
  assert.deepEqual(storedConsole(stored.dir).filter((l) => l !== 'to stderr'), ['line one', 'line two']);
  assert.equal(stored.result.job.platform, 'testos-1');

  // observe also works for a finished run, and --from resumes at a line.
  const again = spawnProgram('builder-client', ['--remote', server.remote, 'observe', info.run_id, '--from', '2']);
  assert.equal((await again.exited).code, 0);
  assert.deepEqual(again.out().trim().split('\n'), [storedConsole(stored.dir)[2]]);
});
