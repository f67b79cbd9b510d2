import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { clientJson, scheduleJob, startServer, startWorker, storedConsole, storedResults, tempDir, waitFor } from './harness.js';
import { fileLines } from './job-trace.js';

// job_stored (issue 14): a worker keeps a reported run until the server says
// its result is durable. Here the server is frozen when the job's process
// ends, so the worker's artifacts and job_finished sit unread in the
// server's socket, then it is SIGKILLed: the report is lost with it. The
// worker (waiting for its ack) reconnects to the restarted server, resumes
// the run and reports it again: one result, the job started once. Without
// the ack the worker forgot the run once job_finished was written, and the
// run was requeued after the grace and ran a second time.


test('a report lost in a server crash is made again after the restart: one result, the job started once', async () => {
  const dir = tempDir();
  const out = tempDir('builder-job-out-');
  const flags = ['--heartbeat', '1', '--reattach-grace', '20'];
  let server = await startServer(dir, flags);
  const script = `#!/bin/sh
echo "start $$" >> ${out}/starts
echo one
echo two
echo artifact > made.txt
touch ${out}/ending
while [ ! -e ${out}/go ]; do sleep 0.05; done
echo three
`;
  await scheduleJob(server, 'acked', 'ack-1', script);
  await clientJson(server.remote, ['execute', 'acked']);
  const worker = startWorker(server.remote, 'ack-1', ['--once']);
  const run = await waitFor('the job to run', async () => (await clientJson(server.remote, ['info'])).running[0]);
  await waitFor('the job to reach its end', () => existsSync(join(out, 'ending')));
  server.child.kill('SIGSTOP');
  writeFileSync(join(out, 'go'), '');
  // The worker logs its report once job_finished is written (into the frozen server's socket).
  await waitFor('the worker to send its report', () => /acked: exited 0, 1 artifact/.test(worker.err()));
  server.child.kill('SIGKILL');
  await server.exited;
  assert.equal(storedResults(dir, 'acked').length, 0, 'the crashed server stored nothing');
  assert.ok(existsSync(join(dir, 'running', run.run_id)), 'the run is still in running/');
  assert.equal(worker.child.exitCode, null, 'the worker waits for its ack');

  server = await startServer(dir, flags, server.port);
  const { code } = await worker.exited;
  assert.equal(code, 0, `the worker reported the run again: ${worker.err()}`);
  const [stored] = await waitFor('the result to be stored', () => (storedResults(dir, 'acked').length === 1 ? storedResults(dir, 'acked') : null));
  assert.equal(stored!.result.run_id, run.run_id, 'the same attempt');
  assert.deepEqual(stored!.result.outcome, { kind: 'exited', code: 0 });
  assert.deepEqual(storedConsole(stored!.dir), ['one', 'two', 'three'], 'every line once and in order');
  assert.equal(readFileSync(join(stored!.dir, 'artifacts', 'made.txt'), 'utf8'), 'artifact\n');
  assert.equal(fileLines(join(out, 'starts')).length, 1, 'the job started once');
  assert.deepEqual(readdirSync(join(dir, 'running')), []);
  assert.match(server.err(), /resumed the run from line \d+/);
});
