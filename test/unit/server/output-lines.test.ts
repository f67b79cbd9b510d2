import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeServerMessage } from '../../../src/protocol/decode.js';
import { outputBlock } from '../../../src/server/core/output-lines.js';

const RUN = '0b7c2a4e-1111-2222-3333-444455556666';

test('spliced output lines decode to exactly what parse and stringify gave, for every kind of line text', () => {
  const lines = [
    { t: 1, line: 'plain' },
    { t: 22, line: 'quotes " and \\ backslash, tab \t, unicode é ✓ 😀' },
    { t: 333, line: '' },
    { t: 4444, line: '{"t":5,"line":"looks stored"}' },
  ];
  const stored = lines.map((c) => JSON.stringify(c));
  // A hand-edited line with its fields the other way round, and an empty line (not counted).
  stored.push('{"line":"by hand","t":7}', '');
  const block = Buffer.from(stored.join('\n') + '\n');
  const out = outputBlock(RUN, 10, block, 5).toString('utf8').split('\n');
  assert.equal(out.pop(), '', 'every message ends with a newline');
  const msgs = out.map((l) => decodeServerMessage(l));
  assert.deepEqual(msgs, [...lines, { t: 7, line: 'by hand' }].map((c, i) => ({ type: 'output', run_id: RUN, n: 10 + i, t: c.t, line: c.line })));
  const later = outputBlock(RUN, 10, block, 5, 13).toString('utf8').trim().split('\n').map((l) => decodeServerMessage(l));
  assert.deepEqual(later.map((m) => (m.type === 'output' ? m.n : -1)), [13, 14], 'lines before `from` are left out');
});

test('spliced output lines carry their numbers across a digit rollover, and long lines whole', () => {
  const lines = [{ t: 1, line: 'short' }, { t: 2, line: 'x'.repeat(300) + ' é' }, { t: 3, line: '' }, { t: 4, line: 'y'.repeat(127) }];
  const block = Buffer.from(lines.map((c) => JSON.stringify(c)).join('\n') + '\n');
  for (const first of [0, 8, 9_999_998, 2 ** 40]) {
    const msgs = outputBlock(RUN, first, block, 4).toString('utf8').trim().split('\n').map((l) => decodeServerMessage(l));
    assert.deepEqual(msgs, lines.map((c, i) => ({ type: 'output', run_id: RUN, n: first + i, t: c.t, line: c.line })));
  }
});
