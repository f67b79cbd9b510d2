import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeServerMessage } from '../../../src/protocol/decode.js';
import { outputBlock, printedBlock } from '../../../src/server/core/output-lines.js';

const RUN = '0b7c2a4e-1111-2222-3333-444455556666';

/** Line texts of every kind, as ConsoleLog stores them. */
const AWKWARD = [
  { t: 1, line: 'plain' },
  { t: 22, line: 'quotes " and \\ backslash, tab \t, unicode é ✓ 😀, a lone \ud800' },
  { t: 333, line: '' },
  { t: 4444, line: '{"t":5,"line":"looks stored"}' },
];
/** AWKWARD stored, then a hand-edited line with its fields the other way round, and an empty line (not counted). */
const AWKWARD_BLOCK = Buffer.from([...AWKWARD.map((c) => JSON.stringify(c)), '{"line":"by hand","t":7}', ''].join('\n') + '\n');
/** What AWKWARD_BLOCK holds, line by line. */
const AWKWARD_READ = [...AWKWARD, { t: 7, line: 'by hand' }];

test('spliced output lines decode to exactly what parse and stringify gave, for every kind of line text', () => {
  const out = outputBlock(RUN, 10, AWKWARD_BLOCK, 5).toString('utf8').split('\n');
  assert.equal(out.pop(), '', 'every message ends with a newline');
  const msgs = out.map((l) => decodeServerMessage(l));
  assert.deepEqual(msgs, AWKWARD_READ.map((c, i) => ({ type: 'output', run_id: RUN, n: 10 + i, t: c.t, line: c.line })));
  const later = outputBlock(RUN, 10, AWKWARD_BLOCK, 5, 13).toString('utf8').trim().split('\n').map((l) => decodeServerMessage(l));
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

test('printed blocks hold what observe prints from output messages, as text and as JSON, for every kind of line text', () => {
  const block = AWKWARD_BLOCK;
  const all = AWKWARD_READ.map((c, i) => ({ n: 10 + i, ...c }));
  for (const from of [0, 12]) {
    const want = all.filter((c) => c.n >= from);
    const text = printedBlock('text', 10, block, from)!;
    assert.equal(text.lines, want.length);
    assert.ok(text.bytes.equals(Buffer.from(want.map((c) => c.line + '\n').join(''))), `text from ${from}`);
    const json = printedBlock('json', 10, block, from)!;
    assert.equal(json.lines, want.length);
    assert.equal(json.bytes.toString('utf8'), want.map((c) => JSON.stringify({ n: c.n, t: c.t, line: c.line }) + '\n').join(''), `json from ${from}`);
  }
  // A line holding a newline would print as two: that block goes as output messages instead.
  assert.equal(printedBlock('text', 0, Buffer.from(JSON.stringify({ t: 1, line: 'two\nlines' }) + '\n')), null);
  assert.equal(printedBlock('json', 0, Buffer.from(JSON.stringify({ t: 1, line: 'two\nlines' }) + '\n'))!.lines, 1);
});

test('printed blocks grow past their first guess: many empty lines as JSON, one line longer than the block as text', () => {
  const empty = Array.from({ length: 5000 }, (_, i) => ({ t: i, line: '' }));
  const json = printedBlock('json', 1_000_000, Buffer.from(empty.map((c) => JSON.stringify(c) + '\n').join('')))!;
  assert.equal(json.bytes.toString('utf8'), empty.map((c, i) => JSON.stringify({ n: 1_000_000 + i, t: c.t, line: '' }) + '\n').join(''));
  const long = [{ t: 1, line: 'z'.repeat(100_000) }, { t: 2, line: 'after' }];
  const text = printedBlock('text', 0, Buffer.from(long.map((c) => JSON.stringify(c) + '\n').join('')))!;
  assert.equal(text.bytes.toString('utf8'), long.map((c) => c.line + '\n').join(''));
});
