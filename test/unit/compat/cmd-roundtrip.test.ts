import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as asn1js from 'asn1js';
import type { Cmd, OrigJob, StateItem } from '../../../src/compat/cmd.js';
import { CMD_TAG } from '../../../src/compat/cmd.js';
import { encodeCmd } from '../../../src/compat/cmd-encode.js';
import { decodeCmd } from '../../../src/compat/cmd-decode.js';
import { decodeState, encodeState } from '../../../src/compat/state-codec.js';
import { BuilderError } from '../../../src/shared/errors.js';

// Property tests of the original protocol's codec: every message we can
// write reads back equal; an independent DER parser (asn1js) accepts every
// byte we write; and no input makes the decoder throw anything but bad_der.

/** fc.record with plain objects (its default null prototype would fail deepEqual). */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
}

const text = fc.string({ unit: 'binary', maxLength: 40 });
const uuid = fc.uuid().map((u) => u.toLowerCase());
const period = fc.constantFrom('hourly' as const, 'daily' as const, 'weekly' as const, 'never' as const);
// Milliseconds are what the original keeps; years stay four digits.
const date = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true });
const int = fc.integer({ min: -(2 ** 40), max: 2 ** 40 });
const scriptJob = rec({ name: text, platform: text, script: text });
const job: fc.Arbitrary<OrigJob> = fc.oneof(
  scriptJob.map((j) => ({ kind: 'script' as const, job: j })),
  rec({ name: text, opam_package: text }).map((o) => ({ kind: 'orb_build' as const, ...o })),
);
const outcome = fc.oneof(
  int.map((code) => ({ kind: 'exited' as const, code })),
  int.map((signal) => ({ kind: 'signalled' as const, signal })),
  int.map((signal) => ({ kind: 'stopped' as const, signal })),
  text.map((message) => ({ kind: 'failed' as const, message })),
);
const scheduleItem = rec({ next: date, period, job });
const info = rec({
  schedule: fc.array(scheduleItem, { maxLength: 3 }),
  queues: fc.array(rec({ platform: text, jobs: fc.array(job, { maxLength: 3 }) }), { maxLength: 3 }),
  running: fc.array(rec({ started: date, uuid, job: scriptJob }), { maxLength: 3 }),
  dropped: fc.array(text, { maxLength: 3 }),
});

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  text.map((platform) => ({ type: 'job_requested' as const, platform })),
  rec({ uuid, job: scriptJob }).map((v) => ({ type: 'job_schedule' as const, ...v })),
  fc
    .record({ uuid, result: outcome, files: fc.array(rec({ path: text, data: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) }), { maxLength: 3 }) })
    .map((v) => ({ type: 'job_finished' as const, ...v })),
  rec({ uuid, line: text }).map((v) => ({ type: 'output' as const, ...v })),
  rec({ uuid, ts: int, line: text }).map((v) => ({ type: 'output_timestamped' as const, ...v })),
  rec({ period, job: scriptJob }).map((v) => ({ type: 'schedule' as const, ...v })),
  text.map((name) => ({ type: 'unschedule' as const, name })),
  fc.constant({ type: 'info' as const }),
  info.map((i) => ({ type: 'info_reply' as const, info: i })),
  uuid.map((u) => ({ type: 'observe' as const, uuid: u })),
  rec({ name: text, platform: fc.option(text, { nil: null }) }).map((v) => ({ type: 'execute' as const, ...v })),
  rec({ period, name: text, opam_package: text }).map((v) => ({ type: 'schedule_orb_build' as const, ...v })),
  rec({ name: text, next: date, period: fc.option(period, { nil: null }) }).map((v) => ({ type: 'reschedule' as const, ...v })),
  text.map((platform) => ({ type: 'drop_platform' as const, platform })),
  text.map((platform) => ({ type: 'undrop_platform' as const, platform })),
  rec({ role: fc.constantFrom('client' as const, 'worker' as const), version: int }).map((v) => ({ type: 'client_hello' as const, ...v })),
  fc.constant({ type: 'server_hello' as const }),
  fc.constant({ type: 'success' as const }),
  text.map((message) => ({ type: 'failure' as const, message })),
);

const tagOf = (c: Cmd): number =>
  c.type === 'output_timestamped' ? CMD_TAG.output : (CMD_TAG as Record<string, number>)[c.type]!;

test('every cmd round-trips through our encoder and decoder', () => {
  fc.assert(fc.property(cmd, (c) => assert.deepEqual(decodeCmd(encodeCmd(c)), c)), { numRuns: 2000 });
});

test('asn1js reads every cmd we write as one whole DER element with the right context tag', () => {
  fc.assert(
    fc.property(cmd, (c) => {
      const der = encodeCmd(c);
      const parsed = asn1js.fromBER(new Uint8Array(der));
      assert.equal(parsed.offset, der.length, parsed.result.error);
      assert.deepEqual([parsed.result.idBlock.tagClass, parsed.result.idBlock.tagNumber], [3, tagOf(c)]);
      // DER round trip through the independent parser: its encoding of what it read is ours, byte for byte.
      assert.ok(Buffer.from(parsed.result.toBER()).equals(der));
    }),
    { numRuns: 500 },
  );
});

test('state files round-trip: queues, schedule items and dropped platforms', () => {
  const item: fc.Arbitrary<StateItem> = fc.oneof(
    rec({ platform: text, jobs: fc.array(job, { maxLength: 4 }) }).map((q) => ({ kind: 'queue' as const, ...q })),
    scheduleItem.map((s) => ({ kind: 'schedule' as const, item: s })),
    text.map((p) => ({ kind: 'dropped_platform' as const, platform: p })),
  );
  fc.assert(fc.property(fc.array(item, { maxLength: 8 }), (items) => assert.deepEqual(decodeState(encodeState(items)), items)), { numRuns: 500 });
});

test('random and mutated bytes only ever fail with bad_der', () => {
  const mutated = fc.tuple(cmd, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([c, at, b]) => {
    const der = Buffer.from(encodeCmd(c));
    if (der.length > 0) der[at % der.length] = b;
    return der;
  });
  const bytes = fc.oneof(fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)), mutated);
  fc.assert(
    fc.property(bytes, (buf) => {
      for (const decode of [decodeCmd, decodeState]) {
        try {
          decode(buf);
        } catch (e) {
          assert.ok(e instanceof BuilderError && e.code === 'bad_der', String(e));
        }
      }
    }),
    { numRuns: 3000 },
  );
});
