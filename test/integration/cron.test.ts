import assert from 'node:assert/strict';
import { test } from 'node:test';
import { client, clientJson, scheduleJob, startServer, startWorker, storedResults, tempDir, waitFor, writeScript } from './harness.js';

test('a cron entry fires at the second its expression names, and info shows its next run', async () => {
  const server = await startServer(tempDir());
  // A near-future expression (croner's optional seconds field): 3 s from now.
  const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3000);
  const expr = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
  await scheduleJob(server, 'timed', 'iota-1', '#!/bin/sh\necho tick\n', ['--cron', expr]);
  const info = await clientJson(server.remote, ['info']);
  assert.equal(info.schedule[0].next, at.toISOString());
  assert.equal(info.schedule[0].tz, 'UTC');
  assert.deepEqual(info.queues, [], 'not queued before its time');
  startWorker(server.remote, 'iota-1');
  await waitFor('the cron run', () => storedResults(server.dir, 'timed').length === 1, 20000);
  const started = Date.parse(storedResults(server.dir, 'timed')[0]!.result.started);
  assert.ok(started >= at.getTime(), `started ${new Date(started).toISOString()} not before ${at.toISOString()}`);
  assert.ok(started < at.getTime() + 3000, `started within the scheduler's tick after ${at.toISOString()}`);
  const after = await clientJson(server.remote, ['info']);
  assert.equal(Date.parse(after.schedule[0].next), at.getTime() + 24 * 3600 * 1000, 'next day, same second');
});

test('a bad cron expression or time zone is refused before anything is scheduled', async () => {
  const server = await startServer(tempDir());
  const script = writeScript(tempDir(), 's.sh', '#!/bin/sh\n');
  const bad = await client(server.remote, ['schedule', 'c', 'iota-2', script, '--cron', '99 * * * *']);
  assert.equal(bad.code, 124);
  assert.match(bad.err, /bad cron expression "99 \* \* \* \*"/);
  const zone = await client(server.remote, ['schedule', 'c', 'iota-2', script, '--cron', '0 3 * * *', '--tz', 'Atlantis/Nowhere']);
  assert.equal(zone.code, 124);
  assert.match(zone.err, /bad time zone "Atlantis\/Nowhere"/);
  assert.deepEqual((await clientJson(server.remote, ['info'])).schedule, []);
});
