import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cmd } from '../../../src/compat/cmd.js';
import { encodeCmd, encodeFrame } from '../../../src/compat/cmd-encode.js';
import { decodeCmd } from '../../../src/compat/cmd-decode.js';
import { decodeState, encodeState } from '../../../src/compat/state-codec.js';

// Byte-for-byte DER of small messages, each derived by hand from the ASN.1 in
// the original's lib/builder.ml (tag, length, content; lengths in hex).
// Context tag [n] EXPLICIT is the byte 0xa0 + n; NULL is 05 00; a UTF8String
// is 0c LEN BYTES; a UUID is a UTF8String of its 16 raw bytes.

const U = '01234567-89ab-cdef-0123-456789abcdef';
const UB = '0c100123456789abcdef0123456789abcdef'; // 18 bytes
const JOB_APS = '300b' + '0c0161' + '0c0173' + '3000' + '0c0170'; // script_job {name a, script s, files [], platform p}: 13 bytes

const GOLDEN: [string, Cmd, string][] = [
  // [14] SEQUENCE { typ [1] NULL (worker), version INTEGER 5 }: 4 + 3 = 7 inside, 9 inside [14].
  ['worker hello', { type: 'client_hello', role: 'worker', version: 5 }, 'ae09' + '3007' + 'a1020500' + '020105'],
  ['client hello', { type: 'client_hello', role: 'client', version: 13 }, 'ae09' + '3007' + 'a0020500' + '02010d'],
  ['server hello', { type: 'server_hello' }, 'af020500'],
  ['success', { type: 'success' }, 'b2020500'],
  ['failure', { type: 'failure', message: 'no' }, 'b304' + '0c026e6f'],
  ['info', { type: 'info' }, 'a6020500'],
  ['job requested', { type: 'job_requested', platform: 'debian-12' }, 'b00b' + '0c09' + '64656269616e2d3132'],
  // [4] SEQUENCE { uuid (18), line "hi" (4) } = 22 = 0x16; [4] holds 24 = 0x18.
  ['output', { type: 'output', uuid: U, line: 'hi' }, 'a418' + '3016' + UB + '0c026869'],
  // ... plus timestamp INTEGER 1000 = 02 02 03e8: 26 = 0x1a inside.
  ['output with timestamp', { type: 'output_timestamped', uuid: U, ts: 1000, line: 'hi' }, 'a41c' + '301a' + UB + '0c026869' + '020203e8'],
  // [5] SEQUENCE { period daily = [1] NULL (4), script_job (13) } = 17 = 0x11.
  ['schedule', { type: 'schedule', period: 'daily', job: { name: 'a', platform: 'p', script: 's' } }, 'a513' + '3011' + 'a1020500' + JOB_APS],
  // [2] SEQUENCE { uuid (18), script_job (13) } = 31 = 0x1f.
  ['job schedule', { type: 'job_schedule', uuid: U, job: { name: 'a', platform: 'p', script: 's' } }, 'a221' + '301f' + UB + JOB_APS],
  // [3] SEQUENCE { uuid (18), exited = [0] INTEGER 0 (5), data: one file {"a", "xy"} (11) } = 34 = 0x22.
  [
    'job finished',
    { type: 'job_finished', uuid: U, result: { kind: 'exited', code: 0 }, files: [{ path: 'a', data: Buffer.from('xy') }] },
    'a324' + '3022' + UB + 'a003020100' + '3009' + '3007' + '0c0161' + '0c027879',
  ],
  [
    'job finished, failed',
    { type: 'job_finished', uuid: U, result: { kind: 'failed', message: 'x' }, files: [] },
    'a31b' + '3019' + UB + 'a3030c0178' + '3000',
  ],
  ['unschedule', { type: 'unschedule', name: 'a' }, 'a903' + '0c0161'],
  ['observe', { type: 'observe', uuid: U }, 'aa12' + UB],
  ['execute, any platform', { type: 'execute', name: 'a', platform: null }, 'b405' + '3003' + '0c0161'],
  ['execute on p', { type: 'execute', name: 'a', platform: 'p' }, 'b408' + '3006' + '0c0161' + '0c0170'],
  ['drop platform', { type: 'drop_platform', platform: 'p' }, 'b103' + '0c0170'],
  ['undrop platform', { type: 'undrop_platform', platform: 'p' }, 'b503' + '0c0170'],
  // [13] SEQUENCE { name (3), GeneralizedTime "20210102030405Z" (2+15), weekly = [2] NULL (4) } = 24 = 0x18.
  [
    'reschedule',
    { type: 'reschedule', name: 'a', next: new Date('2021-01-02T03:04:05Z'), period: 'weekly' },
    'ad1a' + '3018' + '0c0161' + '180f' + Buffer.from('20210102030405Z').toString('hex') + 'a2020500',
  ],
  // [12] SEQUENCE { hourly = [0] NULL (4), SEQUENCE { "a", "pkg" } (10) } = 14 = 0x0e.
  ['orb build', { type: 'schedule_orb_build', period: 'hourly', name: 'a', opam_package: 'pkg' }, 'ac10' + '300e' + 'a0020500' + '3008' + '0c0161' + '0c03706b67'],
  ['empty info reply', { type: 'info_reply', info: { schedule: [], queues: [], running: [], dropped: [] } }, 'b60a' + '3008' + '3000'.repeat(4)],
];

for (const [name, cmd, hex] of GOLDEN) {
  test(`${name}: our encoder writes the hand-derived DER, and it decodes back`, () => {
    assert.equal(encodeCmd(cmd).toString('hex'), hex);
    assert.deepEqual(decodeCmd(Buffer.from(hex, 'hex')), cmd);
  });
}

test('a frame is the 8-byte big-endian length, then the DER', () => {
  assert.equal(encodeFrame({ type: 'server_hello' }).toString('hex'), '0000000000000004' + 'af020500');
});

test('older forms still decode: [11] execute without a platform, [7] info reply without dropped platforms, no script_job platform', () => {
  assert.deepEqual(decodeCmd(Buffer.from('ab030c0161', 'hex')), { type: 'execute', name: 'a', platform: null });
  assert.deepEqual(decodeCmd(Buffer.from('a708' + '3006' + '3000'.repeat(3), 'hex')), {
    type: 'info_reply',
    info: { schedule: [], queues: [], running: [], dropped: [] },
  });
  // script_job without its OPTIONAL platform: the original's decoder says "no-platform".
  assert.deepEqual(decodeCmd(Buffer.from('a21e' + '301c' + UB + '3008' + '0c0161' + '0c0173' + '3000', 'hex')), {
    type: 'job_schedule',
    uuid: U,
    job: { name: 'a', platform: 'no-platform', script: 's' },
  });
});

test('a UTCTime next (older encoders) reads as the same instant', () => {
  const c = decodeCmd(Buffer.from('ad18' + '3016' + '0c0161' + '170d' + Buffer.from('210102030405Z').toString('hex') + 'a3020500', 'hex'));
  assert.deepEqual(c, { type: 'reschedule', name: 'a', next: new Date('2021-01-02T03:04:05Z'), period: 'never' });
});

test('garbage is refused with bad_der naming the offset: unused alternatives, trailing bytes, a short UUID', () => {
  for (const hex of ['a0030201ff', 'a103020100', 'a8020500', 'b2020500' + '00', 'aa030c0101', '0c0161', '', 'b7020500']) {
    assert.throws(() => decodeCmd(Buffer.from(hex, 'hex')), (e: { code?: string; message: string }) => e.code === 'bad_der' && /byte \d+/.test(e.message), hex);
  }
});

// state: SEQUENCE OF state_item; [3] schedule, [4] queue, [5] dropped platform.
const STATE_GOLDEN = [
  // [5] "p": a5 03 0c 01 70, in a SEQUENCE of 5.
  { items: [{ kind: 'dropped_platform' as const, platform: 'p' }], hex: '3005' + 'a503' + '0c0170' },
  // [4] SEQUENCE { "p" (3), SEQUENCE { [0] script_job (2+13) } (17) } = 20 = 0x14; [4] holds 22.
  { items: [{ kind: 'queue' as const, platform: 'p', jobs: [{ kind: 'script' as const, job: { name: 'a', platform: 'p', script: 's' } }] }], hex: '3018' + 'a416' + '3014' + '0c0170' + '300f' + 'a00d' + JOB_APS },
  // [3] SEQUENCE { "20210102030405.500Z" (2+19), never = [3] NULL (4), [1] orb build { "a", "pkg" } (12) } = 37 = 0x25.
  {
    items: [{ kind: 'schedule' as const, item: { next: new Date('2021-01-02T03:04:05.500Z'), period: 'never' as const, job: { kind: 'orb_build' as const, name: 'a', opam_package: 'pkg' } } }],
    hex: '3029' + 'a327' + '3025' + '1813' + Buffer.from('20210102030405.500Z').toString('hex') + 'a3020500' + 'a10a' + '3008' + '0c0161' + '0c03706b67',
  },
];

for (const [i, g] of STATE_GOLDEN.entries()) {
  test(`state item ${i + 1} (${g.items[0]!.kind}): the hand-derived DER, both ways`, () => {
    assert.equal(encodeState(g.items).toString('hex'), g.hex);
    assert.deepEqual(decodeState(Buffer.from(g.hex, 'hex')), g.items);
  });
}

test('old state items: [1] old schedule is read as a schedule, [0] and [2] are ignored as the original does', () => {
  // [1] SEQUENCE { UTCTime (2+13), daily (4), script_job (13) } = 32 = 0x20; [0] script_job: 15 bytes; [2] [0] script_job: 17 bytes.
  const hex = '3044' + 'a122' + '3020' + '170d' + Buffer.from('210102030405Z').toString('hex') + 'a1020500' + JOB_APS + 'a00d' + JOB_APS + 'a20f' + 'a00d' + JOB_APS;
  const items = decodeState(Buffer.from(hex, 'hex'));
  assert.equal(items.length, 3);
  assert.deepEqual(items[0], { kind: 'schedule', item: { next: new Date('2021-01-02T03:04:05Z'), period: 'daily', job: { kind: 'script', job: { name: 'a', platform: 'p', script: 's' } } } });
  assert.equal(items[1]!.kind, 'ignored');
  assert.equal(items[2]!.kind, 'ignored');
});
