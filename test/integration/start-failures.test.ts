import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { clientJson, scheduleJob, spawnProgram, startServer, startWorker, storedResults, tempDir, waitFor, type Proc } from './harness.js';

// Start-up faults: every start that cannot work exits non-zero at once with
// one line, touches nothing in its spool and leaves nothing running.

/** Waits for a server that must fail to exit; returns its exit code and stderr. */
async function failedStart(p: Proc): Promise<{ code: number | null; err: string }> {
  const { code } = await Promise.race([
    p.exited,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the server did not exit: ${p.err()}`)), 5000)),
  ]);
  return { code, err: p.err() };
}

/** A spool with a torn write in tmp/ and a run left in running/: what recovery would change. */
function spoolWithLeftovers(): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  writeFileSync(join(dir, 'tmp', 'torn.tmp'), 'half');
  mkdirSync(join(dir, 'running', 'r1'), { recursive: true });
  writeFileSync(join(dir, 'running', 'r1', 'job.json'), JSON.stringify({ job: { name: 'left', platform: 'p', script: '' } }));
  return dir;
}

function untouched(dir: string): void {
  assert.deepEqual(readdirSync(dir).sort(), ['running', 'tmp'], 'nothing was created in the spool');
  assert.ok(existsSync(join(dir, 'tmp', 'torn.tmp')), 'tmp/ was not swept');
  assert.ok(existsSync(join(dir, 'running', 'r1', 'job.json')), 'running/ was not recovered');
}

test('a second server on the same spool exits non-zero at once naming the spool and the holder; the first one carries on', async () => {
  const a = await startServer(tempDir());
  const gate = join(tempDir(), 'gate');
  await scheduleJob(a, 'slow', 'lk-1', `#!/bin/sh\nwhile [ ! -e ${gate} ]; do sleep 0.05; done\necho done\n`);
  startWorker(a.remote, 'lk-1');
  await clientJson(a.remote, ['execute', 'slow']);
  await waitFor('the run to start', async () => (await clientJson(a.remote, ['info'])).running.length === 1, 30000);
  const b = spawnProgram('builder-server', ['--port', '0', '--dir', a.dir]);
  const { code, err } = await failedStart(b);
  assert.equal(code, 123);
  const lines = err.trim().split('\n');
  assert.equal(lines.length, 1, err);
  assert.match(lines[0]!, new RegExp(`spool ${a.dir} is in use by another builder-server \\(pid ${a.child.pid}\\)`));
  writeFileSync(gate, '');
  await waitFor('the first server to store its run', () => storedResults(a.dir, 'slow').length === 1);
  assert.deepEqual(storedResults(a.dir, 'slow')[0]!.result.outcome, { kind: 'exited', code: 0 });
  assert.doesNotMatch(a.err(), /interrupted|cannot/);
});

test("a SIGKILLed server's lock does not block a restart; a clean stop removes the lock", async () => {
  const dir = tempDir();
  const a = await startServer(dir);
  assert.ok(existsSync(join(dir, 'lock')));
  assert.equal(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')).pid, a.child.pid);
  a.child.kill('SIGKILL');
  await a.exited;
  const b = await startServer(dir);
  assert.equal(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')).pid, b.child.pid);
  b.child.kill('SIGTERM');
  assert.equal((await b.exited).code, 0);
  assert.ok(!existsSync(join(dir, 'lock')), 'the lock is gone after a clean stop');
  // A lock naming a live pid that started at another time (the pid was reused) is stale too.
  writeFileSync(join(dir, 'lock'), JSON.stringify({ version: 1, pid: process.pid, start: '1' }));
  const c = await startServer(dir);
  assert.equal(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')).pid, c.child.pid);
});

test('a taken port: exit 123 within a second, the spool untouched', async () => {
  const a = await startServer(tempDir());
  const dir = spoolWithLeftovers();
  const { code, err } = await failedStart(spawnProgram('builder-server', ['--port', String(a.port), '--dir', dir]));
  assert.equal(code, 123);
  assert.match(err, /cannot listen on 127\.0\.0\.1:\d+: address already in use/);
  untouched(dir);
});

test('an address that is not on this host: exit 123, the spool untouched', async () => {
  const dir = spoolWithLeftovers();
  // 192.0.2.1 (TEST-NET-1) is on no interface here; binding sends nothing.
  const { code, err } = await failedStart(spawnProgram('builder-server', ['--ip', '192.0.2.1', '--insecure', '--port', '0', '--dir', dir]));
  assert.equal(code, 123);
  assert.match(err, /cannot listen on 192\.0\.2\.1:0: .*(EADDRNOTAVAIL|not available)/);
  untouched(dir);
});

test('a local socket in use by a live server: exit non-zero, nothing served, the first server keeps its socket', async () => {
  const sock = join(tempDir(), 's.sock');
  const a = await startServer(tempDir(), ['--socket', sock]);
  const dir = spoolWithLeftovers();
  const { code, err } = await failedStart(spawnProgram('builder-server', ['--port', '0', '--dir', dir, '--socket', sock]));
  assert.notEqual(code, 0);
  assert.match(err, /--socket .* is in use by a running server/);
  untouched(dir);
  const c = spawnProgram('builder-client', ['--socket', sock, '--json', 'info']);
  assert.equal((await c.exited).code, 0, c.err());
  assert.ok(a.child.exitCode === null);
});

test('TLS files that do not load: exit 124 naming the flags', async () => {
  const files = tempDir();
  writeFileSync(join(files, 'cert.pem'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
  writeFileSync(join(files, 'key.pem'), 'not a key\n');
  const dir = spoolWithLeftovers();
  const { code, err } = await failedStart(
    spawnProgram('builder-server', ['--port', '0', '--dir', dir, '--tls-cert', join(files, 'cert.pem'), '--tls-key', join(files, 'key.pem')]),
  );
  assert.equal(code, 124, err);
  assert.match(err, /cannot use the TLS certificate and key \(--tls-cert/);
  untouched(dir);
});
