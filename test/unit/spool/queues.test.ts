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
