import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkName, decodeClientMessage, decodeHello, decodeWorkerMessage } from '../../../src/protocol/decode.js';

test('a worker hello carries its facts; a client hello carries none', () => {
  const h = decodeHello(JSON.stringify({ type: 'hello', role: 'worker', version: 1, worker: { platform: 'debian-12', hostname: 'h', os: 'Linux', release: '6', arch: 'x64', cpus: 2, memory: 1024, version: '0.1.0' } }));
  assert.equal(h.role, 'worker');
  assert.equal(h.role === 'worker' && h.worker.platform, 'debian-12');
  assert.deepEqual(decodeHello('{"type":"hello","role":"client","version":1}'), { type: 'hello', role: 'client', version: 1, token: undefined });
});

test('anything but a well-formed hello first is refused with a reason', () => {
  assert.throws(() => decodeHello('nope'), /not JSON/);
  assert.throws(() => decodeHello('[1]'), /JSON object/);
  assert.throws(() => decodeHello('{"type":"info"}'), /expected a hello first/);
  assert.throws(() => decodeHello('{"type":"hello","role":"admin","version":1}'), /role must be/);
  assert.throws(() => decodeHello('{"type":"hello","role":"worker","version":1,"worker":{"platform":"../x"}}'), /bad platform name/);
});

test('worker messages are checked field by field', () => {
  const id = '123e4567-e89b-42d3-a456-426614174000';
  assert.deepEqual(decodeWorkerMessage(JSON.stringify({ type: 'output', run_id: id, t: 5, line: 'x' })), { type: 'output', run_id: id, t: 5, line: 'x' });
  assert.throws(() => decodeWorkerMessage(JSON.stringify({ type: 'output', run_id: 'x', t: 5, line: 'x' })), /bad run id/);
  assert.throws(() => decodeWorkerMessage(JSON.stringify({ type: 'artifact', run_id: id, path: 'a', size: -1, mode: 0 })), /size/);
  assert.throws(() => decodeWorkerMessage(JSON.stringify({ type: 'job_finished', run_id: id, outcome: { kind: 'exploded' } })), /unknown outcome kind/);
  assert.throws(() => decodeWorkerMessage('{"type":"schedule"}'), /unknown worker message/);
});

test('client commands validate names and periods', () => {
  assert.equal(decodeClientMessage('{"type":"schedule","job":{"name":"a","platform":"p","script":"x"}}').type, 'schedule');
  assert.throws(() => decodeClientMessage('{"type":"schedule","job":{"name":"a","platform":"p","script":"x","period":"yearly"}}'), /bad period "yearly"/);
  assert.throws(() => decodeClientMessage('{"type":"unschedule","name":"a/b"}'), /bad job name/);
  assert.throws(() => decodeClientMessage('{"type":"drop_everything"}'), /unknown client command/);
});

test('names are limited to a safe character set that cannot escape a directory', () => {
  for (const ok of ['debian-12', 'ubuntu-24.04', 'a', 'ocaml+flambda_5']) assert.equal(checkName('job', ok), ok);
  for (const bad of ['', '.', '..', '-x', 'a/b', 'a b', 'x'.repeat(101), 'a\0b']) assert.throws(() => checkName('job', bad), /bad job name/);
});

test('the protocol version is checked first: a hello of another version is refused as such, not as malformed', () => {
  assert.throws(
    () => decodeHello('{"type":"hello","role":"worker","version":2,"agent":{}}'),
    (e: Error & { code?: string }) => e.code === 'version_mismatch' && /you speak 2, this server speaks 1/.test(e.message),
  );
});
