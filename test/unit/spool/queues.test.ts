import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queues } from '../../../src/server/core/queue-mirror.js';
import { parseQueueFile } from '../../../src/server/core/queue.js';

test('queues keep file-name order whatever the insertion order, and adding twice is harmless', () => {
  const q = new Queues();
  q.add('p', { file: '0000000000000003-c.json', name: 'c' });
  q.add('p', { file: '0000000000000001-a.json', name: 'a' });
  q.add('p', { file: '0000000000000002-b.json', name: 'b' });
  q.add('p', { file: '0000000000000002-b.json', name: 'b' });
  assert.deepEqual(q.list('p').map((e) => e.name), ['a', 'b', 'c']);
  assert.ok(q.has('p', 'b'));
  q.remove('p', '0000000000000002-b.json');
  assert.deepEqual(q.list('p').map((e) => e.name), ['a', 'c']);
});

test('reconcile drops vanished files and reports new ones (hand edits)', () => {
  const q = new Queues();
  q.add('p', { file: '0000000000000001-a.json', name: 'a' });
  q.add('p', { file: '0000000000000002-b.json', name: 'b' });
  const { added, removed } = q.reconcile('p', ['0000000000000002-b.json', 'zz-hand.json']);
  assert.deepEqual(added, ['zz-hand.json']);
  assert.equal(removed, 1);
  assert.deepEqual(parseQueueFile('0000000000000002-b.json'), { key: 2, name: 'b' });
  assert.equal(parseQueueFile('zz-hand.json'), null);
});

test('the builds of a verify group share the job name; their queue file names keep them apart', () => {
  const id = '11111111-2222-4333-8444-555555555555';
  const f1 = `0000000000000001-my.job_1@${id}.1.json`;
  assert.deepEqual(parseQueueFile(f1), { key: 1, name: 'my.job_1', group: { id, index: 1 } });
  assert.deepEqual(parseQueueFile('0000000000000001-my.job_1.json'), { key: 1, name: 'my.job_1' });
  const q = new Queues();
  q.add('p', { file: f1, name: 'my.job_1', group: { id, index: 1 } });
  q.add('p', { file: `0000000000000002-my.job_1@${id}.2.json`, name: 'my.job_1', group: { id, index: 2 } });
  assert.ok(q.hasMember('p', id, 2));
  assert.ok(!q.hasMember('p', id, 3));
  assert.ok(q.has('p', 'my.job_1'), 'a plain run of the job is not queued beside its builds');
  q.setClaiming('p', 'my.job_1', true);
  q.setClaiming('p', 'my.job_1', true);
  q.setClaiming('p', 'my.job_1', false);
  assert.ok(q.isClaiming('p', 'my.job_1'), 'two builds claimed at once: one claim still in progress');
  q.setClaiming('p', 'my.job_1', false);
  assert.ok(!q.isClaiming('p', 'my.job_1'));
});
