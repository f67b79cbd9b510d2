import assert from 'node:assert/strict';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { scheduleJob, spawnProgram, startWorker, storedResults, tempDir, waitFor } from './harness.js';
import { get, getRaw, startStatusServer } from './status-harness.js';

test('--http is loopback unless told otherwise; beyond loopback it needs --insecure', async () => {
  const refused = spawnProgram('builder-server', ['--port', '0', '--dir', tempDir(), '--http', '0.0.0.0:0']);
  assert.equal((await refused.exited).code, 124);
  assert.equal(refused.err().trim().split('\n').length, 1, 'one line');
  assert.match(refused.err(), /--http 0\.0\.0\.0:0 would serve the status page beyond this host without credentials: .*give --client-token-file .*add --insecure/);
  const bad = spawnProgram('builder-server', ['--port', '0', '--dir', tempDir(), '--http', 'eight-thousand']);
  assert.equal((await bad.exited).code, 124);
  assert.match(bad.err(), /bad --http "eight-thousand": use PORT, ADDR:PORT/);

  const server = await startStatusServer(tempDir());
  assert.match(server.http, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'loopback');
  const wide = spawnProgram('builder-server', ['--port', '0', '--dir', tempDir(), '--http', '0.0.0.0:0', '--insecure']);
  const line = await waitFor('the status page line', () => / status page on http:\/\/0\.0\.0\.0:(\d+)\//.exec(wide.out()));
  assert.equal((await fetch(`http://127.0.0.1:${line[1]}/healthz`)).status, 200);

  // A port already taken: one line, exit 123, and the server does not linger.
  const port = new URL(server.http).port;
  const taken = spawnProgram('builder-server', ['--port', '0', '--dir', tempDir(), '--http', `127.0.0.1:${port}`]);
  assert.equal((await taken.exited).code, 123);
  assert.match(taken.err(), new RegExp(`cannot serve the status page on 127\\.0\\.0\\.1:${port}: address already in use`));
});

test('/healthz says ok while the spool can be written, 503 when it cannot', async () => {
  const server = await startStatusServer(tempDir());
  assert.deepEqual(await get(server, '/healthz').then((r) => [r.status, r.body]), [200, 'ok\n']);
  renameSync(join(server.dir, 'tmp'), join(server.dir, 'tmp-moved'));
  const sick = await get(server, '/healthz');
  assert.equal(sick.status, 503);
  assert.match(sick.body, /^spool .* cannot be written: no such file or directory\n$/);
  renameSync(join(server.dir, 'tmp-moved'), join(server.dir, 'tmp'));
  assert.equal((await get(server, '/healthz')).status, 200);
  assert.equal((await getRaw(server, '/', 'POST')).status, 405, 'read-only');
  assert.equal((await get(server, '/nope')).status, 404);
  assert.equal((await get(server, '/runs/00000000-0000-4000-8000-000000000000/console')).status, 404);
});

test('results: console as HTML (escaped) and text, replay over SSE, artifacts streamed and confined to the run', async () => {
  const server = await startStatusServer(tempDir());
  await scheduleJob(
    server,
    'arts',
    'xi-1',
    `#!/bin/sh\necho 'one <script>alert(1)</script>'\necho two\necho three\nmkdir -p out && printf 'report text' > out/report.txt && printf '\\001\\002' > blob.bin\n`,
    ['--period', 'daily'],
  );
  assert.equal((await startWorker(server.remote, 'xi-1').exited).code, 0);
  const stored = await waitFor('the result', () => storedResults(server.dir, 'arts')[0]);
  const id = stored.result.run_id as string;

  const overview = await get(server, '/');
  assert.equal(overview.status, 200);
  assert.match(overview.headers.get('content-security-policy') ?? '', /script-src 'nonce-/);
  assert.ok(overview.body.includes(`href="/runs/${id}/console"`), 'recent results link the console');
  assert.ok(overview.body.includes(`href="/runs/${id}/artifacts/out/report.txt"`), 'and the artifacts');
  assert.match(overview.body, /exited 0/);

  const page = await get(server, `/runs/${id}/console`);
  assert.ok(page.body.includes('one &#60;script&#62;alert(1)&#60;/script&#62;'), 'console lines are escaped');
  assert.ok(!page.body.includes('<script>alert'), 'never raw');
  assert.ok(!page.body.includes('EventSource'), 'a finished run needs no script');
  assert.equal((await get(server, `/runs/${id}/console.txt`)).body, 'one <script>alert(1)</script>\ntwo\nthree\n');

  const events = await get(server, `/runs/${id}/events?from=1`);
  assert.equal(events.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  assert.deepEqual([...events.body.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]), ['1', '2']);
  assert.match(events.body, /^data: \{"n":1,"t":\d+,"line":"two"\}$/m);
  assert.match(events.body, /^event: end\ndata: \{"outcome":"exited 0","ok":true\}$/m);
  const resumed = await get(server, `/runs/${id}/events`, { headers: { 'Last-Event-ID': '1' } });
  assert.deepEqual([...resumed.body.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]), ['2'], 'a reconnecting browser resumes after its last id');

  const report = await get(server, `/runs/${id}/artifacts/out/report.txt`);
  assert.equal(report.status, 200);
  assert.equal(report.body, 'report text');
  assert.equal(report.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.equal(report.headers.get('content-security-policy'), 'sandbox');
  assert.equal(report.headers.get('x-content-type-options'), 'nosniff');
  const blob = await fetch(new URL(`/runs/${id}/artifacts/blob.bin`, server.http));
  assert.equal(blob.headers.get('content-type'), 'application/octet-stream');
  assert.deepEqual([...new Uint8Array(await blob.arrayBuffer())], [1, 2]);

  // Nothing outside the run's artifacts/ directory: not by .., not encoded, not through a link.
  symlinkSync('../result.json', join(stored.dir, 'artifacts', 'escape.json'));
  mkdirSync(join(stored.dir, 'artifacts', 'sub'));
  for (const [path, status] of [
    [`/runs/${id}/artifacts/..%2Fresult.json`, 400],
    [`/runs/${id}/artifacts/out%2F..%2F..%2Fresult.json`, 400],
    [`/runs/${id}/artifacts/%2Fetc%2Fpasswd`, 400],
    [`/runs/${id}/artifacts/bad%zz`, 400],
    [`/runs/${id}/artifacts/../result.json`, 404],
    [`/runs/${id}/artifacts/%2e%2e/result.json`, 404],
    [`/runs/${id}/artifacts/escape.json`, 404],
    [`/runs/${id}/artifacts/sub`, 404],
    [`/runs/${id}/artifacts/missing.txt`, 404],
  ] as const) {
    const r = await getRaw(server, path);
    assert.equal(r.status, status, `${path} -> ${r.status}`);
    assert.ok(!r.body.includes('"run_id"'), `${path} leaked result.json`);
  }
});

test('beyond loopback the page asks for the client token (basic auth or bearer); /healthz stays open', async () => {
  const dir = tempDir('builder-tokens-');
  const clientToken = 'client-secret-0123456789abcdef';
  writeFileSync(join(dir, 'c'), `${clientToken}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'w'), 'worker-secret-0123456789abcdef\n', { mode: 0o600 });
  const p = spawnProgram('builder-server', ['--port', '0', '--dir', tempDir(), '--http', '0.0.0.0:0', '--client-token-file', join(dir, 'c'), '--worker-token-file', join(dir, 'w')]);
  const line = await waitFor('the status page line', () => / status page on http:\/\/0\.0\.0\.0:(\d+)\//.exec(p.out()));
  const base = `http://127.0.0.1:${line[1]}`;
  const none = await fetch(`${base}/`);
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate') ?? '', /^Basic realm="builder"/);
  assert.equal((await fetch(`${base}/metrics`, { headers: { Authorization: 'Bearer wrong-token-0123456789' } })).status, 401);
  assert.equal((await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${clientToken}` } })).status, 200);
  const basic = Buffer.from(`operator:${clientToken}`).toString('base64');
  const page = await fetch(`${base}/`, { headers: { Authorization: `Basic ${basic}` } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<html/);
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  assert.match(p.err(), /status page: 127\.0\.0\.1: refused \/: missing or wrong client token/);
  assert.ok(!p.err().includes(clientToken) && !p.err().includes('wrong-token'), 'tokens never reach the log');
});
