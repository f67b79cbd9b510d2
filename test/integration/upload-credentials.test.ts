import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { client, clientJson, scheduleJob, spawnProgram, startServer, startWorker, tempDir, waitFor } from './harness.js';
import { basic, startReceiver } from './receiver.js';

// The upload password belongs in a file (--upload-credentials-file), never in
// argv: /proc/PID/cmdline and ps show argv to every local user.

const PASSWORD = 'cr3d-file-pa55:word';

test('--upload-credentials-file sends USER:PASSWORD as basic auth; the password is in no argv, log or info', async () => {
  const receiver = await startReceiver((_n, req) => (req.authorization === basic('builder', PASSWORD) ? 201 : 401));
  const file = join(tempDir('builder-cred-'), 'upload.credentials');
  writeFileSync(file, `builder:${PASSWORD}\n`, { mode: 0o600 });
  const server = await startServer(tempDir(), ['--upload', receiver.url, '--upload-credentials-file', file]);
  const cmdline = readFileSync(`/proc/${server.child.pid}/cmdline`, 'utf8');
  assert.ok(cmdline.includes('--upload-credentials-file'), 'this is the server\'s cmdline');
  assert.ok(!cmdline.includes(PASSWORD) && !cmdline.includes('pa55'), 'the password is not in /proc/PID/cmdline');
  await scheduleJob(server, 'cred', 'upc-1', '#!/bin/sh\necho hi\n');
  assert.equal((await client(server.remote, ['execute', 'cred'])).code, 0);
  startWorker(server.remote, 'upc-1');
  const got = await waitFor('the upload', () => receiver.requests[0]);
  assert.equal(got.status, 201, 'the file\'s credentials arrived as basic auth');
  const info = await clientJson(server.remote, ['info']);
  assert.equal(info.upload.url, receiver.url.replace('//', '//builder:***@'));
  assert.ok(!server.err().includes('pa55'), 'never logged');
  assert.doesNotMatch(server.err(), /on the command line/, 'no warning: the password is not in argv');
});

test('a password in --upload draws a warning without the password; credentials twice, or a bad file, are bad usage', async () => {
  const receiver = await startReceiver();
  const url = receiver.url.replace('//', '//builder:argv-pa55w0rd@');
  const server = await startServer(tempDir(), ['--upload', url]);
  await waitFor('the warning', () => /warn .*--upload http:\/\/builder:\*\*\*@127\.0\.0\.1:\d+\/upload: the password is on the command line, .*--upload-credentials-file FILE/.test(server.err()));
  assert.ok(!server.err().includes('argv-pa55w0rd'));
  const dir = tempDir('builder-cred-');
  const good = join(dir, 'good');
  writeFileSync(good, 'builder:secret-pass-123\n', { mode: 0o600 });
  const bad = join(dir, 'bad');
  writeFileSync(bad, 'no colon here\n', { mode: 0o600 });
  for (const [args, why] of [
    [['--upload', url, '--upload-credentials-file', good], /keep the credentials in the file only/],
    [['--upload', receiver.url, '--upload-credentials-file', bad], /must hold one line USER:PASSWORD/],
    [['--upload', receiver.url, '--upload-credentials-file', join(dir, 'missing')], /cannot read the upload credentials file .*missing/],
    [['--upload-credentials-file', good], /only makes sense with --upload URL/],
  ] as const) {
    const p = spawnProgram('builder-server', ['--port', '0', '--dir', tempDir(), ...args]);
    assert.equal((await p.exited).code, 124, p.err());
    assert.match(p.err(), why);
    assert.equal(p.err().trim().split('\n').length, 1, 'one line');
    assert.ok(!p.err().includes('secret-pass') && !p.err().includes('argv-pa55w0rd'), 'no password echoed');
  }
});
