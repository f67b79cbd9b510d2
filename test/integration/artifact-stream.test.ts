import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { clientJson, scheduleJob, startServer, startWorker, storedConsole, storedResults, tempDir, waitFor } from './harness.js';

// An artifact that changes size while the worker sends it: the frame always
// carries exactly the announced bytes, so the session stays in step and the
// same --loop worker goes on to the next job.

// A daemon outside the job's group waits until the server is receiving the
// first artifact, then changes b while the second (big) one is in transit.
const script = (spool: string, change: string) => `#!/bin/sh
head -c 33554432 /dev/zero > a-first
head -c 67108864 /dev/zero > a-second
head -c 1048576 /dev/zero > b
setsid sh -c 'for i in $(seq 1 2000); do ls ${spool}/running/*/artifacts/a-first >/dev/null 2>&1 && { ${change}; exit 0; }; sleep 0.005; done' >/dev/null 2>&1 < /dev/null &
echo listed
`;

test('an artifact that grows while it is sent is cut at its announced size; one that shrinks is padded and fails the run; the worker goes on', async () => {
  const server = await startServer(tempDir());
  await scheduleJob(server, 'grows', 'as-1', script(server.dir, 'head -c 4194304 /dev/zero >> b'));
  await scheduleJob(server, 'shrinks', 'as-1', script(server.dir, ': > b'));
  await scheduleJob(server, 'after', 'as-1', '#!/bin/sh\necho fine > out\n');
  startWorker(server.remote, 'as-1', ['--loop']);
  await clientJson(server.remote, ['execute', 'grows']);
  await waitFor('the growing run to be stored', () => storedResults(server.dir, 'grows').length === 1, 60000);
  const grew = storedResults(server.dir, 'grows')[0]!;
  assert.deepEqual(grew.result.outcome, { kind: 'exited', code: 0 });
  const b = grew.result.artifacts.find((a: any) => a.path === 'b');
  assert.equal(b.size, 1048576, 'the announced size');
  assert.equal(statSync(join(grew.dir, 'artifacts', 'b')).size, 1048576);
  assert.ok(storedConsole(grew.dir).some((l) => /builder-worker: artifact b grew to \d+ bytes while it was sent; sent its first 1048576 bytes/.test(l)), storedConsole(grew.dir).join('\n'));

  await clientJson(server.remote, ['execute', 'shrinks']);
  await waitFor('the shrinking run to be stored', () => storedResults(server.dir, 'shrinks').length === 1, 60000);
  const shrank = storedResults(server.dir, 'shrinks')[0]!;
  assert.equal(shrank.result.outcome.kind, 'failed');
  assert.match(shrank.result.outcome.message, /^exited 0, but artifact b shrank from 1048576 to 0 bytes while it was sent \(padded with zero bytes\)$/);

  await clientJson(server.remote, ['execute', 'after']);
  await waitFor('the next run on the same worker', () => storedResults(server.dir, 'after').length === 1, 30000);
  assert.deepEqual(storedResults(server.dir, 'after')[0]!.result.outcome, { kind: 'exited', code: 0 });
  assert.doesNotMatch(server.err(), /worker lost|protocol error/);
});
