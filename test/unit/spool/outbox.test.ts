import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Outbox, parseOutboxRecord, type OutboxRecord } from '../../../src/spool/outbox.js';
import { Spool } from '../../../src/spool/spool.js';

const rec = (id: string): OutboxRecord => ({
  version: 1,
  run_id: id,
  job: 'j',
  result: `results/j/${id}`,
  enqueued: '2026-01-01T00:00:00.000Z',
  attempts: 2,
  failures: 1,
  next_attempt: '2026-01-01T00:00:05.000Z',
  last_error: 'HTTP 500',
});
const ID = '11111111-2222-4333-8444-555555555555';

test('an outbox record is written, listed back and buried in dead-letter/ with its reason, never in neither folder', async () => {
  const spool = await Spool.open(mkdtempSync(join(os.tmpdir(), 'outbox-unit-')));
  const outbox = await Outbox.open(spool);
  await outbox.put(rec(ID));
  assert.deepEqual(await outbox.list(), [rec(ID)]);
  assert.deepEqual(await outbox.sizes(), { outbox: 1, dead_letter: 0 });
  await outbox.bury(rec(ID), 'refused for good');
  assert.deepEqual(await outbox.sizes(), { outbox: 0, dead_letter: 1 });
  assert.ok(existsSync(spool.path('dead-letter', `${ID}.json`)));
  assert.deepEqual(readdirSync(spool.path('tmp')), []);
});

test('an outbox record that does not parse is quarantined, not deleted', async () => {
  const spool = await Spool.open(mkdtempSync(join(os.tmpdir(), 'outbox-unit-')));
  const outbox = await Outbox.open(spool);
  writeFileSync(spool.path('outbox', 'junk.json'), '{"version":1,"run_id":"x"');
  assert.deepEqual(await outbox.list(), []);
  assert.equal(readdirSync(spool.path('quarantine')).filter((n) => n.endsWith('outbox_junk.json')).length, 1);
});

test('parseOutboxRecord refuses a result path outside results/ and a run id that is not a UUID', () => {
  assert.throws(() => parseOutboxRecord(JSON.stringify({ ...rec(ID), result: 'results/../../etc' }), 'r'), /result must be/);
  assert.throws(() => parseOutboxRecord(JSON.stringify({ ...rec(ID), run_id: '../x' }), 'r'), /run_id/);
  assert.throws(() => parseOutboxRecord(JSON.stringify({ ...rec(ID), attempts: -1 }), 'r'), /attempts/);
});

test('a burial interrupted by a crash (record in dead-letter/ and still in outbox/) is recognised, not taken for a take-back', async () => {
  const spool = await Spool.open(mkdtempSync(join(os.tmpdir(), 'outbox-unit-')));
  const outbox = await Outbox.open(spool);
  await outbox.put(rec(ID));
  assert.equal(await outbox.isBuried(ID), false);
  // What bury leaves when the process dies between its two steps:
  writeFileSync(spool.path('dead-letter', `${ID}.json`), JSON.stringify({ ...rec(ID), dead_reason: 'refused for good' }));
  assert.equal(await outbox.isBuried(ID), true);
});
