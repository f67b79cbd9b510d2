import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_MIDDLE, unifiedDiff } from '../../../src/client/unified-diff.js';

test('a unified diff shows the changed line with three lines of context, as diff -u does', () => {
  const a = 'l1\nl2\nl3\nl4\nat 1\nl6\nl7\nl8\nl9\n';
  const b = 'l1\nl2\nl3\nl4\nat 2\nl6\nl7\nl8\nl9\n';
  assert.deepEqual(unifiedDiff(a, b, 'a/x', 'b/x'), ['--- a/x', '+++ b/x', '@@ -2,7 +2,7 @@', ' l2', ' l3', ' l4', '-at 1', '+at 2', ' l6', ' l7', ' l8']);
});

test('insertions, deletions and separate hunks', () => {
  const a = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'].join('\n');
  const b = ['a', 'B', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'].join('\n');
  assert.deepEqual(unifiedDiff(a, b, 'x', 'y'), ['--- x', '+++ y', '@@ -1,5 +1,5 @@', ' a', '-b', '+B', ' c', ' d', ' e', '@@ -9,3 +9,4 @@', ' i', ' j', ' k', '+l']);
  assert.deepEqual(unifiedDiff('', 'new\n', 'x', 'y'), ['--- x', '+++ y', '@@ -0,0 +1,1 @@', '+new']);
});

test('equal texts give no diff; a middle too long to diff gives null', () => {
  assert.deepEqual(unifiedDiff('same\n', 'same\n', 'x', 'y'), []);
  const many = (c: string) => Array.from({ length: MAX_MIDDLE + 1 }, (_, i) => `${c}${i}`).join('\n');
  assert.equal(unifiedDiff(many('a'), many('b'), 'x', 'y'), null);
});
