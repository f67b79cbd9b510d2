import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeClientMessage, decodeHello, decodeServerMessage, decodeWorkerMessage } from '../../../src/protocol/decode.js';
import { BuilderError } from '../../../src/shared/errors.js';

// Property-based fuzzing of the one place untyped JSON becomes a message:
// whatever line a peer sends, a decoder either returns a message or throws a
// BuilderError('bad_message') (a hello of another version: 'version_mismatch'),
// never anything else; and what it accepts
// re-encodes to a line that decodes to the same message.

const TYPES = ['hello', 'schedule', 'unschedule', 'execute', 'info', 'observe', 'job_requested', 'output', 'artifact', 'job_finished', 'heartbeat', 'welcome', 'failure', 'success', 'cancel', 'run_end', 'job', 'info_reply', '__proto__', 'constructor', '', 'forged\nerror line'];
const FIELDS = ['role', 'version', 'token', 'worker', 'job', 'name', 'platform', 'run_id', 'from', 't', 'line', 'path', 'size', 'mode', 'outcome', 'message', 'code', 'server', 'heartbeat_ms', 'reason', 'n', 'info', '__proto__', 'kind'];

const uuid = fc.uuid().map((u) => u.toLowerCase());
const name = fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,10}$/), fc.constantFrom('..', '.', 'a/b', '-x', 'a\0b', 'x'.repeat(101)));
const int = fc.oneof(fc.integer({ min: -5, max: 300 }), fc.constantFrom(0, 1, 2 ** 53, -0, 1.5, Number.MAX_SAFE_INTEGER));
const outcome = fc.oneof(
  fc.record({ kind: fc.constantFrom('exited', 'signalled', 'stopped', 'exploded'), code: int, signal: int }, { requiredKeys: ['kind'] }),
  fc.record({ kind: fc.constant('failed'), message: fc.string() }),
);
const facts = fc.record(
  { platform: name, hostname: fc.string(), os: fc.string(), release: fc.string(), arch: fc.string(), cpus: int, memory: int, version: fc.string() },
  { requiredKeys: [] },
);
const jobSpec = fc.record(
  { name, platform: name, script: fc.string(), period: fc.constantFrom('hourly', 'daily', 'weekly', 'never', 'yearly', 'x\ny'), cron: fc.string(), tz: fc.string(), timeout_s: int, allow_overlap: fc.jsonValue() },
  { requiredKeys: [] },
);
const goodFacts = fc.record({
  platform: fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,12}$/),
  hostname: fc.string({ maxLength: 20 }),
  os: fc.string({ maxLength: 10 }),
  release: fc.string({ maxLength: 10 }),
  arch: fc.string({ maxLength: 10 }),
  cpus: fc.nat(64),
  memory: fc.nat(),
  version: fc.string({ maxLength: 10 }),
});
const value = fc.oneof(fc.constantFrom('x\ny', '\r', '\u2028'), name, uuid, int, fc.string(), outcome, facts, jobSpec, fc.jsonValue({ maxDepth: 3 }), fc.constant(null), fc.constant(1), fc.constantFrom('client', 'worker'));

/** An object shaped like a message: a known type and a few known fields with plausible or wrong values. */
const messageLike = fc.tuple(fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...TYPES) }, { weight: 1, arbitrary: fc.string() }), fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 6 })).map(([type, fields]) => JSON.stringify({ type, ...fields }));

/** A hello, mostly well-formed: some roles, versions, tokens and facts are wrong. */
const helloLike = fc
  .record(
    { role: fc.constantFrom('client', 'worker', 'admin'), version: fc.oneof(fc.constant(1), int), token: fc.oneof(fc.string({ maxLength: 40 }), fc.constant(null), int), worker: fc.oneof(goodFacts, facts) },
    { requiredKeys: ['role', 'version'] },
  )
  .map((h) => JSON.stringify({ type: 'hello', ...h }));

/** Any line a peer could send: message-like, any JSON, any text, cut at any point. */
const line = fc.oneof(
  { weight: 6, arbitrary: messageLike },
  { weight: 2, arbitrary: helloLike },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary' }) },
  { weight: 1, arbitrary: fc.tuple(messageLike, fc.nat()).map(([l, n]) => l.slice(0, n % (l.length + 1))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('utf8')) },
);

const decoders = { decodeHello, decodeClientMessage, decodeWorkerMessage, decodeServerMessage } as const;

for (const [what, decode] of Object.entries(decoders)) {
  test(`${what} throws only BuilderError('bad_message'), and what it accepts re-encodes stably`, (t) => {
    let accepted = 0;
    fc.assert(
      fc.property(line, (l) => {
        let m: unknown;
        try {
          m = (decode as (s: string) => unknown)(l);
        } catch (e) {
          assert.ok(e instanceof BuilderError, `${what} threw a ${(e as Error)?.constructor?.name}: ${String(e)}`);
          assert.ok(e.code === 'bad_message' || (what === 'decodeHello' && e.code === 'version_mismatch'), `code ${e.code}`);
          assert.ok(!e.message.includes('\n'), 'error messages are one line');
          return;
        }
        accepted++;
        const text = JSON.stringify(m);
        const again = (decode as (s: string) => unknown)(text);
        assert.deepEqual(again, m);
        assert.equal(JSON.stringify(again), text);
      }),
      { numRuns: 3000 },
    );
    t.diagnostic(`${accepted} of 3000 lines accepted`);
    assert.ok(accepted > 20, `the generator reaches the accepting paths too (${accepted} accepted)`);
  });
}
