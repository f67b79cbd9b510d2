import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectWorker, disconnectWorker, workerWaits } from '../../../src/server/core/dispatch.js';
import { setPlatform } from '../../../src/server/core/platforms.js';
import { enqueueJob } from '../../../src/server/core/queue.js';
import { finishRun, stopRun } from '../../../src/server/core/runs.js';
import type { ServerState } from '../../../src/server/core/state.js';
import { freshCore, TestLink, testJob, testWorker, until } from './core-fixture.js';

// Pipelining in the core (issue 15): a worker that pipelines asks again while
// its run is reported and gets one run ahead; that run becomes its current
// one when the last ends, and goes back to the queue unbegun when the worker
// leaves first. A worker of the original protocol never gets one ahead.

class PipeLink extends TestLink {
  readonly pipelines = true;
}

/** Queues `names`, connects a pipelining worker, starts the first and has the worker ask again (the early request). */
async function withAhead(state: ServerState, names = ['a', 'b']) {
  for (const n of names) await enqueueJob(state, testJob(n), { front: false });
  const w = { ...testWorker('p-1'), link: new PipeLink() };
  assert.ok(connectWorker(state, w));
  workerWaits(state, w);
  const first = await until('the first job to be sent', () => w.link.jobs[0]);
  workerWaits(state, w);
  const second = await until('the second job to be sent ahead', () => w.link.jobs[1]);
  return { w, first: state.runs.get(first.runId)!, second: state.runs.get(second.runId)! };
}

test('a pipelining worker gets one run ahead, which becomes its current run when the last one ends', async () => {
  const { state } = await freshCore();
  const { w, first, second } = await withAhead(state, ['a', 'b', 'c']);
  assert.equal(w.runId, first.record.run_id);
  assert.equal(w.ahead, second.record.run_id);
  workerWaits(state, w);
  assert.equal(w.waiting, false, 'one run ahead, no more');
  await state.exclusive(async () => undefined);
  assert.equal(w.link.jobs.length, 2);
  await finishRun(state, first, { kind: 'exited', code: 0 });
  assert.equal(w.runId, second.record.run_id);
  assert.equal(w.ahead, null);
  assert.equal(second.phase.kind, 'running');
});

test('a worker of the original protocol that asks while its run is on gets nothing ahead', async () => {
  const { state } = await freshCore();
  for (const n of ['a', 'b']) await enqueueJob(state, testJob(n), { front: false });
  const w = testWorker('p-1');
  connectWorker(state, w);
  workerWaits(state, w);
  await until('the first job', () => w.link.jobs[0]);
  workerWaits(state, w);
  assert.equal(w.waiting, false);
  await state.exclusive(async () => undefined);
  assert.equal(w.link.jobs.length, 1);
});

test('a worker that leaves with a run ahead: that run goes back to the front of its queue with its retries, and leaves no result', async () => {
  const { state, spool } = await freshCore();
  const { w, second } = await withAhead(state, ['a', 'b']);
  w.link.isClosed = true;
  await disconnectWorker(state, w, 'connection closed');
  await until('b back in the queue', () => state.queues.has('p-1', 'b'));
  assert.equal(state.runs.has(second.record.run_id), false);
  assert.deepEqual(await spool.runningIds(), [], 'a (lost, grace 0) and b are out of running/');
  assert.equal(await spool.readResult('b', second.record.run_id), null, 'no result for b');
  const [file] = await spool.queueFiles('p-1');
  const item = await spool.readQueued('p-1', file!);
  assert.equal(item?.job.name, 'b');
  assert.equal(item?.retries, 0, 'no retry used');
});

test('a cancel of a run ahead is sent to the worker, and its answer stores it as cancelled', async () => {
  const { state, spool } = await freshCore();
  const { w, first, second } = await withAhead(state, ['a', 'b']);
  stopRun(state, second, 'cancelled by the operator', false);
  assert.deepEqual(w.link.cancels, [{ runId: second.record.run_id, why: 'cancelled by the operator' }]);
  // The worker answers a held job it never began at once (worker.ts).
  await finishRun(state, second, { kind: 'failed', message: 'cancelled before it began' });
  assert.equal(w.ahead, null);
  assert.equal(w.runId, first.record.run_id, 'the current run goes on');
  const r = await spool.readResult('b', second.record.run_id);
  assert.deepEqual(r?.outcome, { kind: 'failed', message: 'cancelled by the operator' });
  await finishRun(state, first, { kind: 'exited', code: 0 });
  assert.equal(w.runId, null);
});

test('a busy worker that asked again when its platform is dropped is told once its run ended', async () => {
  const { state } = await freshCore();
  for (const n of ['a']) await enqueueJob(state, testJob(n), { front: false });
  const w = { ...testWorker('p-1'), link: new PipeLink() };
  connectWorker(state, w);
  workerWaits(state, w);
  const sent = await until('a to be sent', () => w.link.jobs[0]);
  await setPlatform(state, 'p-1', { dropped: true });
  workerWaits(state, w);
  assert.equal(w.link.refused, null, 'not while it reports');
  await finishRun(state, state.runs.get(sent.runId)!, { kind: 'exited', code: 0 });
  assert.equal((w.link.refused as { code: string } | null)?.code, 'platform_dropped');
});
