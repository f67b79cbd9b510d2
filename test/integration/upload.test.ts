import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeExec } from '../../src/upload/exec-decode.js';
import { client, clientJson, scheduleJob, spawnProgram, startServer, startWorker, storedConsole, storedResults, tempDir, waitFor } from './harness.js';
import { basic, startReceiver } from './receiver.js';

const SCRIPT = `#!/bin/sh
echo "first line"
echo "résumé ✓" >&2
mkdir -p bin
printf 'ELF \\000\\001\\377 bin' > bin/hello
echo "name: hello" > opam-switch
echo "last line"
`;

test('a finished run is POSTed with basic auth as the DER blob of the stored result; --keep-local keeps it, --save-format der writes the same bytes', async () => {
  const receiver = await startReceiver((_n, req) => (req.authorization === basic('builder', 'p4ss:w0rd') ? 201 : 401));
  const url = receiver.url.replace('//', '//builder:p4ss%3Aw0rd@');
  const server = await startServer(tempDir(), ['--upload', url, '--keep-local', '--save-format', 'der']);
  await scheduleJob(server, 'hello', 'up-1', SCRIPT);
  assert.equal((await client(server.remote, ['execute', 'hello'])).code, 0);
  startWorker(server.remote, 'up-1');
  const got = await waitFor('the upload', () => receiver.requests[0]);
  assert.equal(got.status, 201, 'the credentials arrived as basic auth');
  assert.equal(got.method, 'POST');
  assert.equal(got.path, '/upload');
  assert.equal(got.contentLength, got.body.length);

  await waitFor('the outbox to empty', async () => (await clientJson(server.remote, ['info'])).upload?.outbox === 0);
  const [stored] = storedResults(server.dir, 'hello');
  assert.ok(stored, 'with --keep-local the local copy stays');
  const run = decodeExec(got.body);
  assert.equal(run.uuid, stored.result.run_id);
  assert.equal(run.job.name.toString(), 'hello');
  assert.equal(run.job.platform!.toString(), 'up-1');
  assert.equal(run.job.script.toString(), SCRIPT);
  assert.deepEqual(run.result, { kind: 'exited', code: 0 });
  assert.deepEqual(run.console.map((l) => l.line.toString()), storedConsole(stored.dir), 'console oldest first after decoding');
  assert.deepEqual(run.artifacts.map((a) => a.path.toString()).sort(), ['bin/hello', 'opam-switch']);
  for (const a of run.artifacts) assert.ok(a.data.equals(readFileSync(join(stored.dir, 'artifacts', a.path.toString()))), `${a.path} bytes`);
  assert.equal(new Date(run.started.seconds * 1000).toISOString().slice(0, 19), stored.result.started.slice(0, 19));

  assert.ok(readFileSync(join(stored.dir, 'run.der')).equals(got.body), 'run.der holds exactly the uploaded bytes');
  const info = await clientJson(server.remote, ['info']);
  assert.deepEqual(info.upload, { url: receiver.url.replace('//', '//builder:***@'), outbox: 0, dead_letter: 0 });
  assert.match(server.err(), /uploading finished runs to http:\/\/builder:\*\*\*@127\.0\.0\.1/);
  assert.match(server.err(), /uploaded hello .*HTTP 201/);
  assert.ok(!server.err().includes('p4ss'), 'the password never reaches the log');
  assert.deepEqual(readdirSync(join(server.dir, 'outbox')), []);

  const shown = await client(server.remote, ['info']);
  assert.match(shown.out, /upload: http:\/\/builder:\*\*\*@127\.0\.0\.1:\d+\/upload {2}outbox 0 {2}dead-letter 0/);
});

test('a bad --upload URL or --save-format is bad usage (exit 124) and does not echo the password', async () => {
  for (const args of [['--upload', 'ftp://u:secretpw@host/x'], ['--upload', 'http://u:secretpw@[bad'], ['--save-format', 'xml'], ['--keep-local']]) {
    const p = spawnProgram('builder-server', ['--port', '0', '--dir', tempDir(), ...args]);
    const { code } = await p.exited;
    assert.equal(code, 124, args.join(' '));
    assert.ok(!p.err().includes('secretpw'), p.err());
    assert.equal(p.err().trim().split('\n').length, 1);
  }
});
