import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { encodeExec } from '../../../src/upload/exec-encode.js';
import { decodeExec, execRunOfDecoded } from '../../../src/upload/exec-decode.js';
import { execTimeOfDate, type ExecRun } from '../../../src/upload/exec-run.js';

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of body) parts.push(b);
  return Buffer.concat(parts);
}

/** The golden run: name, script, platform, UUID, two console lines, fixed times, exit 0, two small artifacts. */
function goldenRun(): ExecRun {
  const file = (path: string, data: Buffer) => ({ path, size: data.length, open: () => Readable.from([data]) });
  return {
    job: { name: 'hello', script: 'echo hi\necho bye\n', files: [], platform: 'debian-12' },
    uuid: '01234567-89ab-cdef-0123-456789abcdef',
    console: [
      { delta: 1_000_000, line: 'hi' },
      { delta: 2_500_000, line: 'bye' },
    ],
    started: execTimeOfDate(new Date('2024-01-02T03:04:05.678Z')),
    finished: execTimeOfDate(new Date('2024-01-02T03:04:06.100Z')),
    result: { kind: 'exited', code: 0 },
    artifacts: [file('bin/hello', Buffer.from([0x7f, 0x45, 0x4c, 0x46])), file('opam-switch', Buffer.from('sw\n'))],
  };
}

// Derived by hand, TLV by TLV, innermost first (lengths in hex; "+n" = bytes).
// Job:
//   0c 05 68656c6c6f                          name "hello"                 +7
//   0c 11 6563686f2068690a 6563686f206279650a  script (8+9=17=0x11 bytes)   +19
//   30 00                                      files: always empty          +2
//   0c 09 64656269616e2d3132                   platform "debian-12"         +11
//   => 30 27 (7+19+2+11 = 39 = 0x27)                                        +41
// uuid: 0c 10 + the 16 raw bytes 0123456789abcdef0123456789abcdef           +18
// console, NEWEST FIRST:
//   30 0a { 02 03 2625a0 (2500000), 0c 03 627965 "bye" }                    +12
//   30 09 { 02 03 0f4240 (1000000), 0c 02 6869 "hi" }                       +11
//   => 30 17 (12+11 = 23)                                                   +25
// timestamps: GeneralizedTime, milliseconds with trailing zeros kept:
//   18 13 "20240102030405.678Z", 18 13 "20240102030406.100Z" (19 bytes each)
//   => 30 2a (21+21 = 42)                                                   +44
// result: a0 03 { 02 01 00 } exited 0                                       +5
// output, in the order given:
//   30 11 { 0c 09 "bin/hello", 0c 04 7f454c46 }   (11+6 = 17)               +19
//   30 12 { 0c 0b "opam-switch", 0c 03 73770a }   (13+5 = 18)               +20
//   => 30 27 (19+20 = 39)                                                   +41
// Run: 41+18+25+44+5+41 = 174 = 0xae, long form: 30 81 ae                   +177
// Exec: [0] EXPLICIT, 177 = 0xb1: a0 81 b1                         total 180 bytes
const GOLDEN = [
  'a081b1', '3081ae',
  '3027', '0c0568656c6c6f', '0c116563686f2068690a6563686f206279650a', '3000', '0c0964656269616e2d3132',
  '0c100123456789abcdef0123456789abcdef',
  '3017', '300a02032625a00c03627965', '300902030f42400c026869',
  '302a', '181332303234303130323033303430352e3637385a', '181332303234303130323033303430362e3130305a',
  'a003020100',
  '3027', '30110c0962696e2f68656c6c6f0c047f454c46', '30120c0b6f70616d2d7377697463680c0373770a',
].join('');

test('the golden run encodes to exactly the hand-derived bytes', async () => {
  const encoded = encodeExec(goldenRun());
  assert.equal(encoded.length, 180);
  assert.equal((await collect(encoded.body())).toString('hex'), GOLDEN);
});

test('the golden bytes decode back to the golden run and re-encode identically', async () => {
  const d = decodeExec(Buffer.from(GOLDEN, 'hex'));
  assert.equal(d.uuid, '01234567-89ab-cdef-0123-456789abcdef');
  assert.deepEqual(d.console.map((l) => [l.delta, l.line.toString()]), [[1_000_000, 'hi'], [2_500_000, 'bye']]);
  assert.deepEqual(d.finished, execTimeOfDate(new Date('2024-01-02T03:04:06.100Z')));
  const again = await collect(encodeExec(execRunOfDecoded(d)).body());
  assert.equal(again.toString('hex'), GOLDEN);
});

test('times keep the original precision: three digits, trailing zeros kept, none on a whole second', () => {
  assert.equal(execTimeOfDate(new Date('2024-01-02T03:04:06.100Z')).fraction, '100');
  assert.equal(execTimeOfDate(new Date('2024-01-02T03:04:06.007Z')).fraction, '007');
  assert.equal(execTimeOfDate(new Date('2024-01-02T03:04:06Z')).fraction, '');
  assert.deepEqual(execTimeOfDate(new Date(-1)), { seconds: -1, fraction: '999' });
});

test('bodies can be read again (retries re-open the artifacts)', async () => {
  const encoded = encodeExec(goldenRun());
  const first = await collect(encoded.body());
  const second = await collect(encoded.body());
  assert.ok(first.equals(second));
});
