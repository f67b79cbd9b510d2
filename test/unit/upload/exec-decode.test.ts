import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BuilderError } from '../../../src/shared/errors.js';
import { header } from '../../../src/upload/der.js';
import { decodeExec, execRunOfDecoded } from '../../../src/upload/exec-decode.js';
import { encodeExec } from '../../../src/upload/exec-encode.js';

const dir = fileURLToPath(new URL('../../../../test/fixtures/builder-full/', import.meta.url));
const ok = readFileSync(`${dir}fx-ok.full`);

/** Builds one element from a tag and its parts (hex strings or Buffers). */
function el(tag: number, ...parts: (string | Buffer)[]): Buffer {
  const content = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'hex') : p)));
  return Buffer.concat([header(tag, content.length), content]);
}
const utf8 = (s: string): Buffer => el(0x0c, Buffer.from(s));

/** A minimal run whose two time elements are given. */
function blob(started: Buffer, finished: Buffer, result = el(0xa0, '020100')): Buffer {
  const job = el(0x30, utf8('j'), utf8('true'), el(0x30), utf8('p'));
  const uuid = el(0x0c, Buffer.alloc(16, 0x11));
  return el(0xa0, el(0x30, job, uuid, el(0x30), el(0x30, started, finished), result, el(0x30)));
}

function rejectsWith(buf: Buffer, pattern: RegExp): void {
  assert.throws(() => decodeExec(buf), (err: unknown) => {
    assert.ok(err instanceof BuilderError, `a BuilderError, got ${String(err)}`);
    assert.equal(err.code, 'bad_der');
    assert.doesNotMatch(err.message, /\n/);
    assert.match(err.message, pattern);
    return true;
  });
}

test('UTCTime from older encoders is read, and written back as GeneralizedTime', async () => {
  const d = decodeExec(blob(el(0x17, Buffer.from('261128145955Z')), el(0x17, Buffer.from('991231235959Z'))));
  assert.deepEqual(d.timeTypes, { started: 'utc', finished: 'utc' });
  assert.equal(new Date(d.started.seconds * 1000).toISOString(), '2026-11-28T14:59:55.000Z');
  assert.equal(new Date(d.finished.seconds * 1000).toISOString(), '1999-12-31T23:59:59.000Z');
  const parts: Buffer[] = [];
  for await (const b of encodeExec(execRunOfDecoded(d)).body()) parts.push(b);
  const out = Buffer.concat(parts).toString('latin1');
  assert.ok(out.includes('\x18\x0f20261128145955Z') && out.includes('\x18\x0f19991231235959Z'));
});

test('GeneralizedTime keeps any fraction it finds, including none', () => {
  const d = decodeExec(blob(el(0x18, Buffer.from('20240229235959Z')), el(0x18, Buffer.from('20240301000000.123456Z'))));
  assert.deepEqual(d.started.fraction, '');
  assert.deepEqual(d.finished.fraction, '123456');
});

test('garbage is rejected with one line naming the field and the byte offset', () => {
  rejectsWith(Buffer.alloc(0), /^bad DER at byte 0 \(exec\): missing/);
  rejectsWith(Buffer.from('hello world'), /^bad DER at byte 0 \(exec\): expected \[0\], found tag 0x68/);
  rejectsWith(el(0xa1, el(0x05)), /reserved alternative \[1\]/);
  rejectsWith(Buffer.concat([ok, Buffer.from([0])]), /at byte 460 \(exec\): unexpected tag 0x00 after the last field/);
  rejectsWith(Buffer.from('a080', 'hex'), /indefinite length is not DER/);
  rejectsWith(Buffer.from('a0810100', 'hex'), /length is not in its shortest form/);
  rejectsWith(blob(el(0x18, Buffer.from('2024-01-01')), el(0x18, Buffer.from('20240101000000Z'))), /timestamps\.started\): GeneralizedTime "2024-01-01" is not/);
  rejectsWith(blob(el(0x18, Buffer.from('20240230000000Z')), el(0x18, Buffer.from('20240101000000Z'))), /"20240230000000Z" is not a valid date/);
  rejectsWith(blob(el(0x02, '01'), el(0x18, Buffer.from('20240101000000Z'))), /expected GeneralizedTime or UTCTime, found INTEGER/);
  rejectsWith(blob(el(0x18, Buffer.from('20240101000000Z')), el(0x18, Buffer.from('20240101000000Z')), el(0xa4, '020100')), /\(result\): expected one of \[0\] to \[3\], found \[4\]/);
  rejectsWith(blob(el(0x18, Buffer.from('20240101000000Z')), el(0x18, Buffer.from('20240101000000Z')), el(0xa0, '02020001')), /\(result code\): INTEGER is not in its shortest form/);
});

test('a short uuid is rejected', () => {
  const bad = Buffer.from(ok);
  // fx-ok's uuid sits at byte 0xe9 (233): 0c 10 <16 bytes>; claim 15 bytes instead.
  assert.equal(bad[0xe9], 0x0c);
  bad[0xea] = 0x0f;
  rejectsWith(bad, /^bad DER at byte 233 \(uuid\): 15 bytes, a UUID has 16$/);
});

test('every truncation of a fixture is a bad_der error, never a crash', () => {
  for (let n = 0; n < ok.length; n++) rejectsWith(ok.subarray(0, n), /^bad DER at byte \d+ \(/);
});

test('every single-byte corruption of a fixture decodes or fails with bad_der', () => {
  for (let i = 0; i < ok.length; i++) {
    for (const flip of [0x01, 0x80, 0xff]) {
      const bad = Buffer.from(ok);
      bad[i] = bad[i]! ^ flip;
      try {
        decodeExec(bad);
      } catch (err) {
        assert.ok(err instanceof BuilderError && err.code === 'bad_der', `byte ${i} ^ ${flip}: ${String(err)}`);
      }
    }
  }
});
