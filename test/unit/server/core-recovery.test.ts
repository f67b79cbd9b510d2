import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadState } from '../../../src/server/core/load.js';
import { queueFileName } from '../../../src/server/core/queue.js';
import { parseQueueItem } from '../../../src/spool/parse.js';
import type { Spool } from '../../../src/spool/spool.js';
import { freshCore, testJob } from './core-fixture.js';

const RUN_ID = '11111111-2222-4333-8444-555555555555';

/** What a server killed mid-run leaves in running/: the claimed job and its run record. */
async function leaveRunning(spool: Spool, platform: string): Promise<void> {
  const file = queueFileName(1, 'a');
  await spool.putQueued(file, { version: 1, job: testJob('a', platform), queued: new Date().toISOString(), retries: 0 });
  await spool.claim(platform, file, (item) => ({ version: 1, run_id: RUN_ID, job: item.job, retries: 0, queued: item.queued, started: new Date().toISOString(), worker: { id: 'w', peer: 'p', facts: null as never } }));
}

test('recovery requeues a run the server was killed in the middle of', async () => {
  const first = await freshCore();
  await leaveRunning(first.spool, 'p-1');
  const { state, spool } = await freshCore({}, first.dir);
  await loadState(state);
  assert.deepEqual(state.queues.list('p-1').map((q) => q.name), ['a']);
  assert.deepEqual(await spool.runningIds(), []);
  assert.match((await spool.readResult('a', RUN_ID))!.outcome.kind, /failed/);
});

test('recovery does not requeue into a dropped platform: the run is kept as interrupted, saying why', async () => {
  const first = await freshCore();
  await leaveRunning(first.spool, 'p-1');
  await first.spool.putPlatform({ version: 1, platform: 'p-1', dropped: true, paused: false });
  const { state, spool } = await freshCore({}, first.dir);
  await loadState(state);
  assert.deepEqual(state.queues.list('p-1'), []);
  assert.deepEqual(await spool.queueFiles('p-1'), []);
  assert.deepEqual(await spool.runningIds(), []);
  const result = await spool.readResult('a', RUN_ID);
  assert.match(result!.outcome.kind === 'failed' ? result!.outcome.message : '', /not requeued: platform p-1 is dropped/);
});

test('a hand-written job timeout past what a timer can hold (24.8 days) is refused with the allowed range', () => {
  const item = (timeout_s: number) => JSON.stringify({ version: 1, job: { ...testJob('a'), timeout_s }, queued: new Date().toISOString(), retries: 0 });
  assert.equal(parseQueueItem(item(7 * 24 * 3600), 'q', 'p-1').job.timeout_s, 604800);
  assert.throws(() => parseQueueItem(item(30 * 24 * 3600), 'q', 'p-1'), /timeout_s must be a whole number of seconds from 1 to 604800/);
});
