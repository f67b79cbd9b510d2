import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { clientJson, startServer, startWorker, storedResults, tempDir, waitFor, writeScript, client } from './harness.js';
import { workerHello } from './peers.js';

// Throws thousands of random, truncated and hostile lines and random bytes at
// a running server from several connections at once, while a well-behaved
// client and worker go on working, and watches the server's resident memory.

/** A small seeded PRNG (mulberry32), so a failing run can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

/** One hostile payload: lines it holds, and the bytes. */
function payload(rnd: () => number, i: number): { lines: number; data: Buffer } {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const n = (max: number) => Math.floor(rnd() * max);
  const uuid = () => `${randomBytes(4).toString('hex')}-0000-4000-8000-${randomBytes(6).toString('hex')}`;
  const junk = () => pick([randomBytes(n(200)).toString('latin1'), JSON.stringify(randomBytes(n(50)).toString('base64')), '{"type":', '[]', 'null', '{"type":"hello"', '\u2028', '{}']);
  const workerLine = () =>
    pick([
      JSON.stringify({ type: 'output', run_id: uuid(), t: n(1e9), line: randomBytes(n(100)).toString('hex') }),
      JSON.stringify({ type: 'job_finished', run_id: uuid(), outcome: { kind: pick(['exited', 'failed', 'boom']), code: n(300), message: 'x' } }),
      JSON.stringify({ type: 'heartbeat' }),
      JSON.stringify({ type: 'job_requested' }),
      JSON.stringify({ type: 'artifact', run_id: uuid(), path: pick(['../x', 'a', '/etc/passwd']), size: n(64), mode: 0o644 }) + '\n' + randomBytes(n(64)).toString('latin1'),
      JSON.stringify({ type: pick(['output', 'artifact', 'schedule']), run_id: n(9) }),
      junk(),
    ]);
  const hello = JSON.stringify(workerHello(`flood-${i}`));
  const clientHello = JSON.stringify({ type: 'hello', role: 'client', version: 1 });
  switch (n(6)) {
    case 0:
      return { lines: 1, data: randomBytes(1 + n(4096)) };
    case 1: {
      const k = 1 + n(20);
      return { lines: k, data: Buffer.from(Array.from({ length: k }, junk).join('\n') + '\n', 'latin1') };
    }
    case 2:
      return { lines: 1, data: Buffer.from(hello.slice(0, n(hello.length)) + pick(['\n', ''])) };
    case 3: {
      const k = 10 + n(60);
      return { lines: k + 1, data: Buffer.from([hello, ...Array.from({ length: k }, workerLine)].join('\n') + '\n', 'latin1') };
    }
    case 4: {
      const cmd = pick([{ type: 'info' }, { type: 'observe', run_id: uuid() }, { type: 'schedule', job: { name: `fz-${n(1e6)}`, platform: 'fz', script: 'x', period: pick(['never', 'yearly']) } }, { type: 'execute', name: '../../x' }]);
      return { lines: 2, data: Buffer.from(`${clientHello}\n${JSON.stringify(cmd).slice(0, 10 + n(100))}\n`) };
    }
    default:
      return n(40) === 0 ? { lines: 1, data: Buffer.alloc((1 << 20) + 4096, 'x') } : { lines: 1, data: Buffer.from(junk() + '\n', 'latin1') };
  }
}

/** Sends one payload on a fresh connection, half-closes, and waits until the server has closed it too. */
function throwAt(port: number, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.end(data));
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    const t = setTimeout(() => s.destroy(), 5000);
    s.on('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

test('thousands of random and truncated lines from several connections: the server stays up, serves others, and its memory stays bounded', async (t) => {
  const server = await startServer(tempDir(), ['--heartbeat', '2']);
  const pid = server.child.pid!;
  const seed = Date.now() % 1e9;
  t.diagnostic(`seed ${seed}`);
  const rnd = prng(seed);
  const before = rssKiB(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(pid))), 50);

  const script = writeScript(tempDir('builder-script-'), 'steady.sh', '#!/bin/sh\necho steady\necho artifact > out.txt\n');
  const sched = await client(server.remote, ['schedule', 'steady', 'steady-1', script, '--period', 'never']);
  assert.equal(sched.code, 0, sched.err);
  const worker = startWorker(server.remote, 'steady-1', ['--loop']);

  const started = Date.now();
  const enough = () => Date.now() - started > 3000 && sent.lines >= 3000;
  const sent = { lines: 0, bytes: 0, connections: 0 };
  const flooders = Array.from({ length: 6 }, async (_, i) => {
    while (!enough() && Date.now() - started < 20000) {
      const p = payload(rnd, i);
      sent.lines += p.lines;
      sent.bytes += p.data.length;
      sent.connections++;
      await throwAt(server.port, p.data);
    }
  });
  // Meanwhile, the well-behaved client and worker: three runs, one after the other, and info.
  let served = 0;
  for (let k = 1; k <= 3; k++) {
    const ex = await client(server.remote, ['execute', 'steady']);
    assert.equal(ex.code, 0, ex.err);
    await waitFor(`run ${k} of the steady job`, () => storedResults(server.dir, 'steady').length === k, 20000);
    const info = await clientJson(server.remote, ['info']);
    assert.ok(info.schedule.some((e: any) => e.name === 'steady'));
    served++;
  }
  await Promise.all(flooders);
  clearInterval(sampler);
  const after = rssKiB(pid);
  const elapsed = (Date.now() - started) / 1000;
  t.diagnostic(`flood: ${sent.lines} lines, ${(sent.bytes / 1048576).toFixed(1)} MiB on ${sent.connections} connections in ${elapsed.toFixed(1)} s`);
  t.diagnostic(`server VmRSS: ${(before / 1024).toFixed(0)} MiB before, ${(peak / 1024).toFixed(0)} MiB peak, ${(after / 1024).toFixed(0)} MiB after`);

  assert.equal(server.child.exitCode, null, 'the server is still up');
  assert.equal(served, 3);
  for (const r of storedResults(server.dir, 'steady')) {
    assert.deepEqual(r.result.outcome, { kind: 'exited', code: 0 });
    assert.deepEqual(r.result.artifacts.map((a: any) => a.path), ['out.txt']);
  }
  assert.ok(sent.lines >= 3000, `thousands of lines were thrown (${sent.lines})`);
  assert.ok(peak - before < 150 * 1024, `resident memory grew by ${((peak - before) / 1024).toFixed(0)} MiB (limit 150)`);
  const info = await waitFor('the flood workers to be gone', async () => {
    const i = await clientJson(server.remote, ['info']);
    return i.workers.length === 1 && i;
  });
  assert.equal(info.workers[0].platform, 'steady-1');
  assert.equal(worker.child.exitCode, null, 'the good worker is still connected');
});
