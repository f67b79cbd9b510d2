import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { client, spawnProgram, tempDir, waitFor } from './harness.js';
import { getRaw, startStatusServer, type StatusServer } from './status-harness.js';

// What the status page accepts before any page runs: Host headers (DNS
// rebinding), connection counts and fds (the protocol listener must keep
// working), and page sizes with a huge schedule.

function getWithHost(server: StatusServer, host: string | null, path = '/'): Promise<{ status: number; body: string }> {
  return getRaw(server, path, 'GET', host);
}

test('the status page answers only its own address, localhost and --http-host names; other Host headers get 421', async () => {
  const server = await startStatusServer(tempDir(), ['--http-host', 'builds.example.org', '--http-host', 'ci.internal']);
  const port = new URL(server.http).port;
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, 'builds.example.org', 'builds.example.org:443', `ci.internal:${port}`]) {
    assert.equal((await getWithHost(server, host)).status, 200, `Host: ${host}`);
  }
  for (const host of [`evil.example:${port}`, 'evil.example', `localhost:${Number(port) + 1}`, `127.0.0.1:${Number(port) + 1}`, `builds.example.org.evil.example:${port}`]) {
    const r = await getWithHost(server, host, '/healthz');
    assert.equal(r.status, 421, `Host: ${host}`);
    assert.equal(r.body.trim().split('\n').length, 1, 'one line');
    assert.match(r.body, /does not answer for Host .*--http-host NAME/);
  }
  assert.notEqual((await getWithHost(server, null, '/healthz')).status, 200, 'no Host header at all');
  const refused = spawnProgram('builder-server', ['--port', '0', '--dir', tempDir(), '--http', '0', '--http-host', 'http://x/']);
  assert.equal((await refused.exited).code, 124);
  assert.match(refused.err(), /bad --http-host "http:\/\/x\/": give a host name/);
});

/** Opens `n` TCP connections to `port` from `from`, idle; counts those the far end closes. */
async function idleConnections(port: number, from: string, n: number): Promise<{ sockets: net.Socket[]; closed: () => number }> {
  let closed = 0;
  const sockets = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port, localAddress: from }, () => resolve(s));
        s.once('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
        s.once('close', () => closed++);
      }),
    ),
  );
  return { sockets, closed: () => closed };
}

test('1,100 idle HTTP connections hit the caps (logged once) and an authenticated protocol client still gets in', async (t) => {
  if (!existsSync('/usr/bin/prlimit')) return t.skip('prlimit (util-linux) is missing');
  const dir = tempDir();
  const token = join(tempDir(), 'client.token');
  writeFileSync(token, 'a-client-secret-of-enough-length\n', { mode: 0o600 });
  const server = await startStatusServer(dir, ['--client-token-file', token]);
  // As the packaged unit would be without LimitNOFILE: 1024 descriptors in all.
  execFileSync('/usr/bin/prlimit', ['--pid', String(server.child.pid), '--nofile=1024:1024']);
  const port = Number(new URL(server.http).port);

  // One address over its cap.
  const one = await idleConnections(port, '127.0.0.1', 40);
  await waitFor('the per-address cap', () => one.closed() >= 40 - 32);
  // Then 1,100 from 44 loopback addresses, 25 each: under the per-address cap, over the total.
  const many = await Promise.all(Array.from({ length: 44 }, (_, i) => idleConnections(port, `127.0.0.${i + 2}`, 25)));
  const open = () => 40 + 1100 - one.closed() - many.reduce((a, m) => a + m.closed(), 0);
  await waitFor('the total cap', () => open() <= 256);
  assert.ok(open() >= 200, `the cap still lets connections in (${open()} open)`);

  const info = await client(server.remote, ['--token-file', token, 'info']);
  assert.equal(info.code, 0, `the protocol client gets in: ${info.err}`);
  const lines = server.err() + server.out();
  assert.equal(lines.match(/HTTP connections open, the cap;/g)?.length, 1, `the total cap logged once: ${lines}`);
  assert.equal(lines.match(/cap per address/g)?.length, 1, 'the per-address cap logged once');

  for (const s of [...one.sockets, ...many.flatMap((m) => m.sockets)]) s.destroy();
  await waitFor('the page to answer again', async () => (await fetch(new URL('/healthz', server.http)).catch(() => null))?.status === 200);
});

test('with 20,000 schedule entries the overview is paged, 100 a page, filtered by platform (bench W7 does 100,000)', async () => {
  const dir = tempDir();
  const sched = join(dir, 'schedule');
  mkdirSync(sched, { recursive: true });
  // Written straight into the spool before the start, as a big hand-made schedule would be.
  for (let i = 0; i < 20_000; i++) {
    const name = `job-${String(i).padStart(6, '0')}`;
    const entry = { version: 1, name, platform: i % 2 ? 'debian-12' : 'freebsd-14', script: '#!/bin/sh\ntrue\n', period: 'never', timeout_s: 3600, next: null };
    writeFileSync(join(sched, `${name}.json`), JSON.stringify(entry));
  }
  const server = await startStatusServer(dir, [], 120_000);
  const get = (path: string) => fetch(new URL(path, server.http)).then(async (r) => ({ status: r.status, body: await r.text() }));
  const first = await get('/');
  assert.equal(first.status, 200);
  assert.ok(Buffer.byteLength(first.body) < 1_000_000, `first page ${Buffer.byteLength(first.body)} bytes`);
  assert.match(first.body, /Schedule \(20000\)/);
  assert.match(first.body, /page 1 of 200 \(1–100 of 20000\)/);
  assert.ok(first.body.includes('job-000099') && !first.body.includes('job-000100'), 'the first 100 entries');
  const last = await get('/?schedule_page=200');
  assert.ok(last.body.includes('job-019999') && Buffer.byteLength(last.body) < 1_000_000);
  const beyond = await get('/?schedule_page=5000');
  assert.match(beyond.body, /page 200 of 200/, 'a page past the end shows the last one');
  const debian = await get('/?platform=debian-12&schedule_page=2');
  assert.match(debian.body, /Schedule \(10000\)/);
  assert.ok(debian.body.includes('job-000201') && !debian.body.includes('job-000200'), 'filtered by platform, then paged');
  assert.ok(debian.body.includes('href="/?platform=debian-12&#38;schedule_page=3"'), 'the next link keeps the filter');
});
