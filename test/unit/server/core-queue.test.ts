import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enqueueJob, parseQueueFile, unqueueJob } from '../../../src/server/core/queue.js';
import { freshCore, testJob } from './core-fixture.js';

test('the queue puts jobs at the back in time order and run-now jobs before the head; a job is never queued twice', async () => {
  const { state, spool } = await freshCore();
  assert.equal(await enqueueJob(state, testJob('a'), { front: false }), true);
  assert.equal(await enqueueJob(state, testJob('b'), { front: false }), true);
  assert.equal(await enqueueJob(state, testJob('c'), { front: true }), true);
  assert.equal(await enqueueJob(state, testJob('a'), { front: true }), false, 'already queued');
  const files = await spool.queueFiles('p-1');
  assert.deepEqual(files.map((f) => parseQueueFile(f)?.name), ['c', 'a', 'b']);
  assert.deepEqual(state.queues.list('p-1').map((q) => q.file), files, 'the mirror matches the directory');
  assert.equal(await unqueueJob(state, 'p-1', 'a'), true);
  assert.equal(await unqueueJob(state, 'p-1', 'a'), false);
  assert.deepEqual((await spool.queueFiles('p-1')).map((f) => parseQueueFile(f)?.name), ['c', 'b']);
});
