import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { client, clientJson, scheduleJob, spawnProgram, startServer, startWorker, storedResults, tempDir, waitFor } from './harness.js';

// Observers of one live run: they share the server's reads of its console,
// and one that stops reading costs the server neither memory nor the run's
// progress; when it reads again it gets every line, in order.

const LINES = 400_000;
/** About 100 bytes a line: 40 MB of console, ~80 MB as output messages, far more than the socket buffers hold. */
const LINE = 'a line of console output that is about one hundred bytes long, give or take a few bytes, to fill it';

const kib = (pid: number, field: 'VmHWM' | 'VmRSS'): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

/** A job that prints `ready`, waits for `gate`, then prints `lines` lines. */
const gatedScript = (gate: string, lines: number) => `#!/bin/sh\necho ready\nwhile [ ! -e ${gate} ]; do sleep 0.05; done\nyes '${LINE}' | head -n ${lines}\n`;

async function liveRun(server: { remote: string; dir: string }, name: string, platform: string, gate: string, lines: number): Promise<string> {
  await scheduleJob(server as never, name, platform, gatedScript(gate, lines));
  startWorker(server.remote, platform);
  await clientJson(server.remote, ['execute', name]);
  const run = await waitFor('the run to start', async () => (await clientJson(server.remote, ['info'])).running[0]);
  return run.run_id as string;
}

test('an observer that stops reading holds the server to a bounded size and does not hold up the run; reading again, it gets every line in order', async (t) => {
  // Long enough that the stalled observer is never dropped here (bounded.test.ts covers the drop).
  const server = await startServer(tempDir(), ['--client-idle-timeout', '600']);
  const gate = join(tempDir('builder-gate-'), 'open');
  const id = await liveRun(server, 'stalled', 'ob-1', gate, LINES);
  // The observer checks each line as it comes (n in order, from 0) and keeps nothing.
  const seen = { lines: 0, bad: 0, first: '', end: null as any, other: [] as any[] };
  let text = '';
  const socket = net.connect({ host: '127.0.0.1', port: server.port });
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    text += d;
    const lines = text.split('\n');
    text = lines.pop()!;
    for (const l of lines) {
      const m = JSON.parse(l);
      if (m.type === 'output') {
        if (m.n !== seen.lines || m.run_id !== id || (m.n > 0 && m.line !== LINE)) seen.bad++;
        if (m.n === 0) seen.first = m.line;
        seen.lines++;
      } else if (m.type === 'run_end') seen.end = m;
      else if (m.type !== 'observing' && m.type !== 'welcome') seen.other.push(m);
    }
  });
  socket.on('error', () => undefined);
  socket.write(JSON.stringify({ type: 'hello', role: 'client', version: 1 }) + '\n' + JSON.stringify({ type: 'observe', run_id: id, from: 0 }) + '\n');
  await waitFor('the observer to get the first line', () => seen.lines > 0);
  socket.pause();
  const pid = server.child.pid!;
  const before = kib(pid, 'VmRSS');
  writeFileSync(gate, '');
  // The run ends and is stored while the observer still reads nothing.
  const stored = await waitFor('the run to be stored', () => storedResults(server.dir, 'stalled')[0], 120000);
  assert.equal(stored.result.console_lines, LINES + 1);
  const peak = kib(pid, 'VmHWM');
  t.diagnostic(`server VmRSS ${(before / 1024).toFixed(0)} MiB before the output, peak ${(peak / 1024).toFixed(0)} MiB`);
  // Taking in this console costs the server ~25-40 MiB of heap with or without observers; the unread part of it
  // as output messages, queued for the observer, would be ~80 MB more.
  assert.ok(peak - before < 70 * 1024, `the server grew by ${((peak - before) / 1024).toFixed(0)} MiB for an observer that reads nothing`);
  assert.equal(socket.destroyed, false, 'the observer is still connected');

  socket.resume();
  await waitFor('the stream to end', () => seen.end || socket.destroyed, 120000);
  assert.deepEqual(seen.other, []);
  assert.equal(seen.bad, 0, 'every line once, in order, numbered from 0');
  assert.equal(seen.lines, LINES + 1);
  assert.equal(seen.first, 'ready');
  assert.deepEqual(seen.end?.outcome, { kind: 'exited', code: 0 });
  socket.destroy();
});

test('observers of one live run, from the start and from a line in the middle, each get their lines once and in order', async () => {
  const server = await startServer(tempDir());
  const gate = join(tempDir('builder-gate-'), 'open');
  // Fewer lines here: four clients decoding them share the host with the rest of the suite.
  const LINES = 60_000;
  const id = await liveRun(server, 'watched', 'ob-2', gate, LINES);
  const from = 33_457;
  const watchers = Array.from({ length: 3 }, () => spawnProgram('builder-client', ['--remote', server.remote, '--json', 'observe', id]));
  await waitFor('the observers to get the first line', () => watchers.every((w) => w.out().includes('"line":"ready"')));
  writeFileSync(gate, '');
  // One more joins mid-run, at a line the others are past or not yet at: it reads the file to catch up.
  await waitFor('the others to be under way', () => watchers[0]!.out().length > 500_000, 60000);
  watchers.push(spawnProgram('builder-client', ['--remote', server.remote, '--json', 'observe', id, '--from', String(from)]));
  for (const [i, w] of watchers.entries()) {
    const { code } = await w.exited;
    assert.equal(code, 0, w.err().slice(-500));
    const got = w
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const start = i < 3 ? 0 : from;
    const lines = got.filter((l) => l.n !== undefined);
    assert.equal(lines.length, LINES + 1 - start, `observer ${i}`);
    assert.ok(lines.every((l, k) => l.n === start + k), `observer ${i}: every line once, in order`);
    assert.deepEqual(got.at(-1).outcome, { kind: 'exited', code: 0 });
  }
  // A late observer of the stored run reads it the same way.
  const late = await client(server.remote, ['--json', 'observe', id, '--from', String(LINES)]);
  assert.equal(late.code, 0, late.err);
  assert.deepEqual(late.out.trim().split('\n').map((l) => JSON.parse(l).n).slice(0, -1), [LINES]);
});
