import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeCerts } from './certs.js';
import { client, clientJson, startServer, startWorker, storedConsole, storedResults, tempDir, waitFor, writeScript } from './harness.js';

test('TLS: a client that trusts the CA is served; one that does not, or speaks plain TCP, gets a clear error; workers need a client certificate', async () => {
  const c = makeCerts();
  const server = await startServer(tempDir(), ['--tls-cert', c.serverCert, '--tls-key', c.serverKey, '--tls-client-ca', c.ca]);
  const script = writeScript(tempDir('builder-script-'), 'tls.sh', '#!/bin/sh\necho over tls\n');
  const ok = await client(server.remote, ['--tls-ca', c.ca, 'schedule', 'tls-job', 'tls-1', script, '--period', 'daily']);
  assert.equal(ok.code, 0, ok.err);

  const untrusting = await client(server.remote, ['--tls-ca', c.otherCa, 'info']);
  assert.equal(untrusting.code, 123);
  assert.match(untrusting.err, /over TLS: the server's certificate is not trusted: .*\(is --tls-ca the CA that signed it/);
  const plain = await client(server.remote, ['info']);
  assert.equal(plain.code, 123);
  assert.match(plain.err, /no welcome from the server: .*\(if the server uses TLS, give --tls-ca\)/);

  const certless = startWorker(server.remote, 'tls-1', ['--tls-ca', c.ca]);
  assert.equal((await certless.exited).code, 123);
  assert.match(certless.err(), /worker credential refused/);
  assert.match(server.err(), /127\.0\.0\.1:\d+: refused: worker without a valid client certificate/);
  assert.equal(storedResults(server.dir, 'tls-job').length, 0, 'nothing was dispatched to it');

  const worker = startWorker(server.remote, 'tls-1', ['--tls-ca', c.ca, '--tls-cert', c.workerCert, '--tls-key', c.workerKey]);
  assert.equal((await worker.exited).code, 0, worker.err());
  const run = await waitFor('the run over TLS to be stored', () => storedResults(server.dir, 'tls-job')[0]);
  assert.deepEqual(run.result.outcome, { kind: 'exited', code: 0 });
  assert.ok(storedConsole(run.dir).includes('over tls'));
  const info = await clientJson(server.remote, ['--tls-ca', c.ca, 'info']);
  assert.deepEqual(info.running, []);
});
