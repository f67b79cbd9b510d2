import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { artifactSink } from '../../../src/server/core/artifact-sink.js';
import { connectWorker, disconnectWorker, workerWaits } from '../../../src/server/core/dispatch.js';
import { followConsole } from '../../../src/server/core/follow-console.js';
import { enqueueJob, queueDetails } from '../../../src/server/core/queue.js';
import { toRunning, toStopping, type Run } from '../../../src/server/core/run-phase.js';
import { finishRun, loseRun, recordOutput, stopRun } from '../../../src/server/core/runs.js';
import type { ServerState } from '../../../src/server/core/state.js';
import { freshCore, testJob, testWorker, until } from './core-fixture.js';

/** Queues `name`, connects a worker that asks for a job, and waits until the run is running. */
async function startOne(state: ServerState, name = 'a', platform = 'p-1') {
  await enqueueJob(state, testJob(name, platform), { front: false });
  const w = testWorker(platform);
  assert.ok(connectWorker(state, w));
  workerWaits(state, w);
  const sent = await until('the job to be sent', () => w.link.jobs[0]);
  const run = state.runs.get(sent.runId)!;
  return { w, run, runId: sent.runId };
}

test('a run goes claiming, running, storing, stored, and tells its subscribers in that order', async () => {
  const { state, spool, seen } = await freshCore();
  const { w, run, runId } = await startOne(state);
  assert.equal(run.phase.kind, 'running');
  assert.equal(w.runId, runId);
  recordOutput(state, run, 1, 'one');
  recordOutput(state, run, 2, 'two');
  await finishRun(state, run, { kind: 'exited', code: 0 });
  assert.equal(run.phase.kind, 'stored');
  assert.equal(state.runs.size, 0);
  assert.equal(w.runId, null);
  assert.deepEqual(seen, ['worker_connected', 'run_started', 'run_storing', 'run_stored', 'run_ended']);
  const result = await spool.readResult('a', runId);
  assert.deepEqual(result?.outcome, { kind: 'exited', code: 0 });
  assert.equal(result?.console_lines, 2);
});

test('an impossible transition throws, naming the run and both phases', async () => {
  const { state } = await freshCore();
  const { run } = await startOne(state);
  await finishRun(state, run, { kind: 'exited', code: 0 });
  assert.throws(() => toStopping(run, 'late', false, setTimeout(() => undefined, 0)), /cannot go from stored to stopping/);
  assert.throws(() => toRunning(run, run.console!, setTimeout(() => undefined, 0)), (e: Error & { code?: string }) => e.code === 'impossible_transition');
  // The lifecycle's own entry points check first: a second report is ignored, not a crash.
  await finishRun(state, run, { kind: 'exited', code: 1 });
  assert.equal(run.phase.kind, 'stored');
});

test('a lost run is requeued in front with its retry counted; info shows its retries and when it was queued', async () => {
  const { state, spool } = await freshCore();
  const { w, runId } = await startOne(state, 'a');
  await enqueueJob(state, testJob('later'), { front: false });
  const before = Date.now();
  await disconnectWorker(state, w, 'connection closed');
  assert.equal(state.runs.size, 0);
  const lost = await spool.readResult('a', runId);
  assert.equal(lost?.outcome.kind, 'failed');
  const shown = await queueDetails(state, 'p-1', 0);
  assert.deepEqual(shown.map((q) => [q.name, q.retries]), [['a', 1], ['later', 0]]);
  // A front entry's file name orders it before the head; its queue time is still the time it was queued.
  assert.ok(Math.abs(Date.parse(shown[0]!.queued) - before) < 5000, `queued ${shown[0]!.queued} is about now`);
});

test('info reads retries and queue times of jobs it did not queue itself (after a restart) from their files', async () => {
  const first = await freshCore();
  await enqueueJob(first.state, testJob('a'), { front: false, retries: 2 });
  const again = await freshCore({}, first.dir);
  const { rescanQueue } = await import('../../../src/server/core/queue.js');
  await rescanQueue(again.state, 'p-1');
  const [q] = await queueDetails(again.state, 'p-1', 0);
  assert.equal(q?.retries, 2);
  assert.ok(!Number.isNaN(Date.parse(q!.queued)));
});

test('a cancel while the run is being claimed stops it as soon as it runs', async () => {
  const { state } = await freshCore();
  await enqueueJob(state, testJob('a'), { front: false });
  const w = testWorker('p-1');
  connectWorker(state, w);
  workerWaits(state, w);
  const claiming = await until('the claim to begin', () => [...state.runs.values()].find((r) => r.phase.kind === 'claiming'));
  stopRun(state, claiming, 'cancelled by an operator (test)', false);
  const cancel = await until('the cancel to reach the worker', () => w.link.cancels[0]);
  assert.equal(cancel.runId, claiming.record.run_id);
  assert.equal(w.link.jobs.length, 1, 'the job was sent first');
  assert.equal(claiming.phase.kind, 'stopping');
  await finishRun(state, claiming, { kind: 'signalled', signal: 15 });
  const after = claiming.phase as Run['phase'];
  assert.equal(after.kind === 'stored' && after.outcome?.kind, 'failed');
});

test('a claim whose run record cannot be written puts the job back in its queue: nothing in running/, no phantom', async () => {
  const { state, spool } = await freshCore();
  await enqueueJob(state, testJob('a'), { front: false });
  const [file] = await spool.queueFiles('p-1');
  // tmp/ as a plain file: every atomic write (run.json first) fails, whoever runs the test.
  rmSync(spool.path('tmp'), { recursive: true });
  writeFileSync(spool.path('tmp'), 'not a directory');
  const w = testWorker('p-1');
  connectWorker(state, w);
  workerWaits(state, w);
  await until('the head to be paired with the worker', () => !w.waiting);
  await until('the claim to fail and the worker to be free again', () => w.waiting);
  assert.deepEqual(await spool.runningIds(), []);
  assert.deepEqual(await spool.queueFiles('p-1'), [file]);
  assert.deepEqual(state.queues.list('p-1').map((q) => q.file), [file]);
  assert.equal(state.runs.size, 0);
  assert.equal(w.link.jobs.length, 0);
  // Once the spool can be written again, the same job is claimed and sent.
  rmSync(spool.path('tmp'));
  mkdirSync(spool.path('tmp'));
  workerWaits(state, w);
  await until('the job to be sent', () => w.link.jobs[0]);
});

test('a due run is queued while the previous run of the job is being stored (not while it runs)', async () => {
  const { state } = await freshCore();
  const { tick } = await import('../../../src/server/core/scheduler.js');
  const { run } = await startOne(state, 'nightly');
  const entry = { version: 1 as const, name: 'nightly', platform: 'p-1', script: '#!/bin/sh\n', period: 'daily' as const, timeout_s: 60, next: new Date(Date.now() - 1000).toISOString() };
  state.schedule.set(entry.name, entry);
  await tick(state, new Date(), ['nightly']);
  assert.equal(state.queues.has('p-1', 'nightly'), false, 'skipped while it runs');
  state.schedule.set(entry.name, { ...entry, next: new Date(Date.now() - 1000).toISOString() });
  const storing = finishRun(state, run, { kind: 'exited', code: 0 });
  assert.equal(run.phase.kind, 'storing');
  await tick(state, new Date(), ['nightly']);
  assert.equal(state.queues.has('p-1', 'nightly'), true, 'queued while the previous one is being stored');
  await storing;
});

test('a worker of a dropped platform that asks for a job is told and closed', async () => {
  const { state } = await freshCore();
  const w = testWorker('p-1');
  connectWorker(state, w);
  state.dropped.add('p-1');
  workerWaits(state, w);
  assert.equal(w.link.refused?.code, 'platform_dropped');
  assert.match(w.link.refused!.message, /platform p-1 was dropped/);
  assert.equal(w.waiting, false);
});

test('a lost attempt keeps no artifacts: nothing partial is stored or served', async () => {
  const { state, spool } = await freshCore();
  const { run, runId } = await startOne(state);
  const sink = await artifactSink(state, run, { path: 'out/half.bin', size: 4, mode: 0o644 });
  sink.stream.write(Buffer.from('half'));
  await sink.done();
  assert.equal(run.artifacts.length, 1);
  await loseRun(state, run, 'worker lost: connection closed');
  const stored = await spool.readResult('a', runId);
  assert.deepEqual(stored?.artifacts, []);
  assert.equal(existsSync(join(spool.resultDir('a', runId), 'artifacts')), false);
});

test('an artifact whose bytes could not all be read is not kept as if whole', async () => {
  const { state, spool } = await freshCore();
  const { run, runId } = await startOne(state);
  const sink = await artifactSink(state, run, { path: 'big.bin', size: 10, mode: 0o644 });
  sink.stream.write(Buffer.from('abc'));
  await sink.done(new Error('the worker went away'));
  assert.deepEqual(run.artifacts, []);
  assert.equal(existsSync(spool.path('running', runId, 'artifacts', 'big.bin')), false);
});

test('an observer attaching while the run is being stored gets every line and the outcome', async () => {
  const { state } = await freshCore();
  const { run, runId } = await startOne(state);
  for (let i = 0; i < 3; i++) recordOutput(state, run, i, `line ${i}`);
  const storing = finishRun(state, run, { kind: 'exited', code: 3 });
  assert.equal(run.phase.kind, 'storing');
  const lines: string[] = [];
  const end = await followConsole(state, runId, 0, async (_n, c) => void lines.push(c.line));
  await storing;
  assert.deepEqual(lines, ['line 0', 'line 1', 'line 2']);
  assert.deepEqual(end?.outcome, { kind: 'exited', code: 3 });
});

test('a timed-out run is stopped, and the worker reporting afterwards requeues it', async () => {
  const { state } = await freshCore();
  const { w, run } = await startOne(state);
  stopRun(state, run, 'timed out after 1 s', true);
  assert.equal(run.phase.kind, 'stopping');
  assert.match(w.link.cancels[0]!.why, /timed out/);
  stopRun(state, run, 'cancelled', false);
  assert.equal(w.link.cancels.length, 1, 'a run already stopping is not stopped twice');
  await finishRun(state, run, { kind: 'signalled', signal: 15 });
  assert.equal(state.queues.has('p-1', 'a'), true);
});

