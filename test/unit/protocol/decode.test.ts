import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkName, decodeClientMessage, decodeHello, decodeServerMessage, decodeWorkerMessage } from '../../../src/protocol/decode.js';

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

test('verify counts, compare and fetch paths are checked; artifact hashes must be sha256 hex', () => {
  const id = '123e4567-e89b-42d3-a456-426614174000';
  const sched = (verify: unknown) => decodeClientMessage(JSON.stringify({ type: 'schedule', job: { name: 'a', platform: 'p', script: 'x', verify } }));
  assert.deepEqual((sched(2) as { job: { verify?: number } }).job.verify, 2);
  for (const bad of [1, 17, 2.5, 'two']) assert.throws(() => sched(bad), /field "verify" must be an integer from 2 to 16/);
  assert.deepEqual(decodeClientMessage(JSON.stringify({ type: 'execute', name: 'a', verify: 3 })), { type: 'execute', name: 'a', verify: 3 });
  assert.equal((decodeClientMessage(JSON.stringify({ type: 'orb_build', name: 'a', opam_package: 'hello', verify: 2 })) as { verify?: number }).verify, 2);
  assert.deepEqual(decodeClientMessage(JSON.stringify({ type: 'compare', run_ids: [id, id] })), { type: 'compare', run_ids: [id, id] });
  assert.throws(() => decodeClientMessage(JSON.stringify({ type: 'compare', run_ids: [id] })), /two run ids/);
  assert.deepEqual(decodeClientMessage(JSON.stringify({ type: 'fetch', run_id: id, paths: ['a/b'] })), { type: 'fetch', run_id: id, paths: ['a/b'] });
  assert.throws(() => decodeClientMessage(JSON.stringify({ type: 'fetch', run_id: id, paths: [1] })), /paths/);
  const reply = (sha256: unknown) => decodeServerMessage(JSON.stringify({ type: 'fetch_reply', run_id: id, artifacts: [{ path: 'a', size: 1, mode: 420, sha256 }] }));
  assert.equal((reply('a'.repeat(64)) as { artifacts: { sha256?: string }[] }).artifacts[0]!.sha256, 'a'.repeat(64));
  assert.throws(() => reply('A'.repeat(64)), /sha256 must be 64 lowercase hex digits/);
});
