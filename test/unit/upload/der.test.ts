import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DerReader, elementSize, integerOctets, lengthOctets, readInteger } from '../../../src/upload/der.js';

const hex = (b: Buffer): string => b.toString('hex');

test('lengths use the short form below 128 and the shortest long form above', () => {
  assert.equal(hex(lengthOctets(0)), '00');
  assert.equal(hex(lengthOctets(127)), '7f');
  assert.equal(hex(lengthOctets(128)), '8180');
  assert.equal(hex(lengthOctets(255)), '81ff');
  assert.equal(hex(lengthOctets(256)), '820100');
  assert.equal(hex(lengthOctets(2 ** 32)), '850100000000');
  for (const n of [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 24, 2 ** 30, 2 ** 40]) {
    assert.equal(elementSize(n), 1 + lengthOctets(n).length + n, String(n));
  }
});

test('integers are the shortest two\'s complement, with a 00 or ff pad only when the sign needs it', () => {
  const cases: [number, string][] = [
    [0, '00'], [127, '7f'], [128, '0080'], [143, '008f'], [255, '00ff'], [256, '0100'],
    [-1, 'ff'], [-128, '80'], [-129, 'ff7f'], [57062055, '0366b2a7'], [2 ** 40, '010000000000'],
  ];
  for (const [n, h] of cases) assert.equal(hex(integerOctets(n)), h, String(n));
});

test('reading an integer inverts writing it', () => {
  for (const n of [0, 1, -1, 127, 128, -128, -129, 143, 2 ** 31, -(2 ** 40), Number.MAX_SAFE_INTEGER]) {
    const content = integerOctets(n);
    assert.equal(readInteger({ tag: 2, offset: 0, contentOffset: 2, content }, 'n'), n);
  }
});

test('the reader walks nested elements and reports offsets', () => {
  const buf = Buffer.from('3006020101020102', 'hex');
  const seq = new DerReader(buf).enter(0x30, 'seq');
  assert.equal(readInteger(seq.read(0x02, 'a'), 'a'), 1);
  const b = seq.read(0x02, 'b');
  assert.equal(b.offset, 5);
  assert.equal(readInteger(b, 'b'), 2);
  assert.ok(seq.atEnd());
  assert.throws(() => seq.read(0x02, 'c'), /^BuilderError: bad DER at byte 8 \(c\): missing/);
});
