import assert from 'node:assert/strict';
import type net from 'node:net';
import { test } from 'node:test';
import type { Hello } from '../../../src/protocol/messages.js';
import { checkHello, sameSecret } from '../../../src/server/sessions/auth.js';
import { admitArtifact, admitConsoleLine, DEFAULT_LIMITS, formatBytes, limitedOutcome, newUsage } from '../../../src/server/core/limits.js';
import { isLoopback, type SecurityConfig } from '../../../src/server/config/security.js';

const W = 'worker-token-0123456789';
const C = 'client-token-0123456789';
const facts = { platform: 'p', hostname: 'h', os: 'o', release: 'r', arch: 'a', cpus: 1, memory: 1, version: 'v' };
const client = (token?: string): Hello => ({ type: 'hello', role: 'client', version: 1, token });
const worker = (token?: string): Hello => ({ type: 'hello', role: 'worker', version: 1, token, worker: facts });
const plain = {} as net.Socket;

test('each role needs its own token: the other role\'s token, none or a wrong one is refused', () => {
  const sec: SecurityConfig = { workerToken: W, clientToken: C, insecure: false, tcpClientsRefused: false };
  assert.equal(checkHello(sec, client(C), 'tcp', plain), null);
  assert.equal(checkHello(sec, worker(W), 'tcp', plain), null);
  assert.match(checkHello(sec, client(W), 'tcp', plain)!, /client presented the worker credential/);
  assert.match(checkHello(sec, worker(C), 'tcp', plain)!, /worker presented the client credential/);
  assert.match(checkHello(sec, client(), 'tcp', plain)!, /without a credential/);
  assert.match(checkHello(sec, worker('x'.repeat(30)), 'tcp', plain)!, /wrong credential/);
  assert.equal(checkHello(sec, client(), 'unix', plain), null, 'the local socket needs no token');
  assert.match(checkHello(sec, worker(), 'unix', plain)!, /worker without a credential/, 'but a worker still does');
});

test('mTLS: a worker needs a verified client certificate; clients do not', () => {
  const sec: SecurityConfig = { tls: { cert: Buffer.alloc(0), key: Buffer.alloc(0), clientCa: Buffer.alloc(0) }, insecure: false, tcpClientsRefused: false };
  assert.equal(checkHello(sec, worker(), 'tls', { authorized: true } as never), null);
  assert.match(checkHello(sec, worker(), 'tls', { authorized: false, authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' } as never)!, /UNABLE_TO_VERIFY/);
  assert.equal(checkHello(sec, client(), 'tls', { authorized: false } as never), null);
});

test('secrets compare equal only when equal, whatever their lengths', () => {
  assert.ok(sameSecret('abc', 'abc'));
  assert.ok(!sameSecret('abc', 'abcd'));
  assert.ok(!sameSecret(undefined, 'abc'));
  assert.ok(!sameSecret('', 'abc'));
});

test('loopback addresses are told apart from the others', () => {
  for (const ip of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) assert.ok(isLoopback(ip), ip);
  for (const ip of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'example.org']) assert.ok(!isLoopback(ip), ip);
});

test('per-run limits: count, bytes and console; the outcome says which, and keeps what the job reported', () => {
  const limits = { ...DEFAULT_LIMITS, maxArtifacts: 2, maxArtifactBytes: 100, maxConsoleBytes: 10 };
  const u = newUsage();
  assert.equal(admitArtifact(limits, u, { path: 'a', size: 60, mode: 0o644 }), null);
  assert.match(admitArtifact(limits, u, { path: 'b', size: 41, mode: 0o644 })!, /exceed the limit of 100 bytes \(--max-artifact-bytes\)/);
  assert.match(admitArtifact(limits, u, { path: 'c', size: 1, mode: 0o644 })!, /exceed/, 'later ones are refused too');
  assert.deepEqual(limitedOutcome(u, { kind: 'exited', code: 0 }), { kind: 'failed', message: 'exited 0, but artifacts exceed the limit of 100 bytes (--max-artifact-bytes); the rest was discarded' });
  const n = newUsage();
  for (const p of ['a', 'b']) assert.equal(admitArtifact(limits, n, { path: p, size: 1, mode: 0 }), null);
  assert.match(admitArtifact(limits, n, { path: 'c', size: 1, mode: 0 })!, /more than 2 artifacts/);
  const c = newUsage();
  assert.equal(admitConsoleLine(limits, c, 'hello'), 'keep');
  assert.equal(admitConsoleLine(limits, c, 'world'), 'last');
  assert.equal(admitConsoleLine(limits, c, 'more'), 'drop');
  assert.match(c.exceeded!, /console exceeds the limit of 10 bytes/);
  assert.deepEqual(limitedOutcome(newUsage(), { kind: 'exited', code: 3 }), { kind: 'exited', code: 3 });
  assert.equal(formatBytes(8 * 1024 ** 3), '8 GiB');
  assert.equal(formatBytes(1536), '1536 bytes');
  assert.equal(formatBytes(64 * 1024 * 1024), '64 MiB');
});
