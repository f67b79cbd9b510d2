import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as asn1js from 'asn1js';
import type { Cmd, StateItem } from '../../../src/compat/cmd.js';
import { el, encodeFrame, explicit, scriptJob, utf8 } from '../../../src/compat/cmd-encode.js';
import { decodeCmd } from '../../../src/compat/cmd-decode.js';
import { decodeState, encodeState } from '../../../src/compat/state-codec.js';
import { TAG } from '../../../src/upload/der.js';

// test/fixtures/original/: a `state` file and protocol exchanges of the
// original builder, made from the format description with our encoder (old
// forms the current original no longer writes are built by hand). Each test
// rebuilds a fixture and compares it byte for byte with the committed file,
// so the files are what the integration tests (import-state) feed the real
// server. UPDATE_FIXTURES=1 rewrites them.

const DIR = resolve(import.meta.dirname, '..', '..', '..', '..', 'test', 'fixtures', 'original');
const FIXTURE_UUID = '5f0c6f2e-8e7a-4c43-9a1e-2b7d3c4e5f60';

function check(name: string, bytes: Buffer): void {
  const file = join(DIR, name);
  if (process.env.UPDATE_FIXTURES === '1') writeFileSync(file, bytes);
  assert.ok(existsSync(file), `${file} is missing (UPDATE_FIXTURES=1 writes it)`);
  assert.ok(readFileSync(file).equals(bytes), `${name} is what our encoder writes (UPDATE_FIXTURES=1 to rewrite)`);
}

const nightly = { name: 'nightly', platform: 'debian-12', script: '#!/bin/sh\necho nightly\n' };
const manual = { name: 'manual', platform: 'freebsd-14', script: '#!/bin/sh\necho manual\n' };

/** The current-form items of the state fixture ([3] schedule, [4] queue, [5] dropped). */
const CURRENT: StateItem[] = [
  { kind: 'schedule', item: { next: new Date('2030-01-01T00:00:00Z'), period: 'daily', job: { kind: 'script', job: nightly } } },
  { kind: 'schedule', item: { next: new Date('2030-01-01T06:00:00.250Z'), period: 'weekly', job: { kind: 'orb_build', name: 'orb-hello', opam_package: 'hello' } } },
  { kind: 'schedule', item: { next: new Date('9999-12-31T23:59:59.999Z'), period: 'never', job: { kind: 'script', job: manual } } },
  {
    kind: 'queue',
    platform: 'debian-12',
    jobs: [
      { kind: 'script', job: nightly },
      { kind: 'orb_build', name: 'orb-hello', opam_package: 'hello' },
      { kind: 'script', job: { name: 'bad/name', platform: 'debian-12', script: 'true\n' } },
    ],
  },
  { kind: 'queue', platform: 'freebsd-14', jobs: [{ kind: 'script', job: manual }, { kind: 'script', job: { name: 'stray', platform: 'debian-12', script: 'true\n' } }] },
  { kind: 'dropped_platform', platform: 'ubuntu-20.04' },
];

/** Old forms, by hand: [1] { UTCTime, hourly, script_job without platform } and [0] a lone script job. */
const OLD_SCHEDULE = explicit(1, el(TAG.sequence, el(TAG.utcTime, Buffer.from('250102030405Z', 'latin1')), explicit(0, el(TAG.null)), el(TAG.sequence, utf8('legacy'), utf8('echo legacy\n'), el(TAG.sequence))));
const OLD_JOB = explicit(0, scriptJob({ name: 'ancient', platform: 'debian-12', script: 'true\n' }));

/** The state fixture: the current items with the old ones between them, as one SEQUENCE OF state_item. */
function stateFixture(): Buffer {
  const current = encodeState(CURRENT);
  // Split the SEQUENCE into its items (with asn1js), and put the old ones among them.
  const parsed = asn1js.fromBER(new Uint8Array(current));
  const each = ((parsed.result as asn1js.Sequence).valueBlock.value as asn1js.AsnType[]).map((b) => Buffer.from(b.toBER()));
  return el(TAG.sequence, ...each.slice(0, 3), OLD_SCHEDULE, ...each.slice(3), OLD_JOB);
}

test('the state fixture: every kind of item, old forms included, decodes to what it was made of', () => {
  const bytes = stateFixture();
  check('state', bytes);
  const items = decodeState(readFileSync(join(DIR, 'state')));
  assert.deepEqual(items.filter((i) => i.kind !== 'ignored'), [
    ...CURRENT.slice(0, 3),
    { kind: 'schedule', item: { next: new Date('2025-01-02T03:04:05Z'), period: 'hourly', job: { kind: 'script', job: { name: 'legacy', platform: 'no-platform', script: 'echo legacy\n' } } } },
    ...CURRENT.slice(3),
  ]);
  assert.equal(items.at(-1)!.kind, 'ignored');
  // The dropped platform item by hand: [5] UTF8String "ubuntu-20.04" = a5 0e 0c 0c ...
  assert.ok(bytes.includes(Buffer.from('a50e0c0c' + Buffer.from('ubuntu-20.04').toString('hex'), 'hex')));
});

const WORKER_SENDS: Cmd[] = [
  { type: 'client_hello', role: 'worker', version: 5 },
  { type: 'job_requested', platform: 'debian-12' },
  { type: 'output', uuid: FIXTURE_UUID, line: 'building' },
  { type: 'output', uuid: FIXTURE_UUID, line: 'done ✓' },
  {
    type: 'job_finished',
    uuid: FIXTURE_UUID,
    result: { kind: 'exited', code: 0 },
    files: [
      { path: 'bin/hello', data: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0xff]) },
      { path: 'hello.opam', data: Buffer.from('opam-version: "2.0"\n') },
    ],
  },
];
const SERVER_SENDS_WORKER: Cmd[] = [{ type: 'server_hello' }, { type: 'job_schedule', uuid: FIXTURE_UUID, job: nightly }];
const CLIENT_SENDS: Cmd[] = [{ type: 'client_hello', role: 'client', version: 13 }, { type: 'schedule', period: 'daily', job: nightly }];
const SERVER_SENDS_CLIENT: Cmd[] = [{ type: 'server_hello' }, { type: 'success' }];

/** Splits concatenated frames. */
function frames(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    const n = Number(buf.readBigUInt64BE(at));
    out.push(buf.subarray(at + 8, at + 8 + n));
    at += 8 + n;
  }
  return out;
}

for (const [name, cmds] of [
  ['worker-sends.frames', WORKER_SENDS],
  ['server-sends-worker.frames', SERVER_SENDS_WORKER],
  ['client-sends.frames', CLIENT_SENDS],
  ['server-sends-client.frames', SERVER_SENDS_CLIENT],
] as const) {
  test(`exchange fixture ${name}: frames as our encoder writes them, each one whole DER for asn1js`, () => {
    check(name, Buffer.concat(cmds.map(encodeFrame)));
    const got = frames(readFileSync(join(DIR, name)));
    assert.deepEqual(got.map(decodeCmd), cmds);
    for (const der of got) assert.equal(asn1js.fromBER(new Uint8Array(der)).offset, der.length);
  });
}

test('the small frames of the exchanges, against DER derived by hand', () => {
  const w = readFileSync(join(DIR, 'worker-sends.frames'));
  // worker hello: length 11, [14] { [1] NULL, INTEGER 5 }; then job_requested "debian-12": length 13, [16] UTF8String.
  assert.equal(w.subarray(0, 19 + 21).toString('hex'), '000000000000000b' + 'ae093007a1020500020105' + '000000000000000d' + 'b00b0c09' + Buffer.from('debian-12').toString('hex'));
  const c = readFileSync(join(DIR, 'server-sends-client.frames'));
  assert.equal(c.toString('hex'), '0000000000000004' + 'af020500' + '0000000000000004' + 'b2020500');
  const h = readFileSync(join(DIR, 'client-sends.frames'));
  assert.equal(h.subarray(0, 19).toString('hex'), '000000000000000b' + 'ae093007a002050002010d');
});
