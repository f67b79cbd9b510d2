import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { clientJson, DIST, scheduleJob, startServer, startWorker, storedResults, tempDir, waitFor, type TestServer } from './harness.js';

// Observers that ask for printed blocks (`print` in observe: output_block
// frames of what observe prints, encoded once by the server for all of
// them) print exactly what the per-line protocol prints, across blocks,
// odd lines and reconnects; observers that do not ask still get an output
// message per line.

/** Lines that take every path of the encoder: plain, quotes, backslashes, control characters, non-ASCII, bad UTF-8, empty, long. */
const ODD = `cat <<'EOF'
plain line
with "quotes" inside
a back\\slash and a \\n that is not a newline
tab\there
ünïcödé ✓ and 😀 (astral)

EOF
printf 'carriage\\rreturn and \\001 control\\n'
printf '\\377\\376 not UTF-8\\n'
head -c 300000 /dev/zero | tr '\\0' x; echo
`;

/** A job that prints `ready`, waits for `gate`, then the odd lines and `lines` numbered ones, `per` at a time with a pause between. */
function chattyScript(gate: string, lines: number, per: number, pause: string): string {
  return `#!/bin/sh\necho ready\nwhile [ ! -e ${gate} ]; do sleep 0.05; done\n${ODD}i=0\nwhile [ $i -lt ${lines} ]; do seq -f 'console line %g of a chatty build' $((i + 1)) $((i + ${per})); i=$((i + ${per})); sleep ${pause}; done\n`;
}

async function liveRun(server: TestServer, name: string, platform: string, script: string, flags: string[] = []): Promise<string> {
  await scheduleJob(server, name, platform, script);
  startWorker(server.remote, platform, flags);
  await clientJson(server.remote, ['execute', name]);
  const run = await waitFor('the run to start', async () => (await clientJson(server.remote, ['info'])).running[0]);
  return run.run_id as string;
}

/** builder-client with its stdout going to `file` (bytes as written, no decoding); killed when the test ends. */
function observer(t: TestContext, remote: string, args: string[], file: string) {
  const fd = openSync(file, 'w');
  const child = spawn(process.execPath, [join(DIST, 'builder-client.cjs'), '--remote', remote, ...args], { stdio: ['ignore', fd, 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  closeSync(fd);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  t.after(() => void child.kill('SIGKILL'));
  return { child, exited, err: () => err, out: () => readFileSync(file) };
}

/** A raw protocol observer: what it received, as per-line messages and as printed blocks. */
interface Raw {
  socket: net.Socket;
  lines: { n: number; t: number; line: string }[];
  blocks: { from: number; lines: number; bytes: Buffer }[];
  end: any;
}

function rawObserver(port: number, runId: string, print?: 'text' | 'json'): Raw {
  const raw: Raw = { socket: net.connect({ host: '127.0.0.1', port }), lines: [], blocks: [], end: null };
  let buf = Buffer.alloc(0);
  let frame: { from: number; lines: number; bytes: number } | null = null;
  raw.socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (frame) {
        if (buf.length < frame.bytes) return;
        raw.blocks.push({ from: frame.from, lines: frame.lines, bytes: buf.subarray(0, frame.bytes) });
        buf = buf.subarray(frame.bytes);
        frame = null;
        continue;
      }
      const nl = buf.indexOf(10);
      if (nl < 0) return;
      const m = JSON.parse(buf.toString('utf8', 0, nl));
      buf = buf.subarray(nl + 1);
      if (m.type === 'output') raw.lines.push({ n: m.n, t: m.t, line: m.line });
      else if (m.type === 'output_block') frame = m;
      else if (m.type === 'run_end') raw.end = m;
    }
  });
  raw.socket.on('error', () => undefined);
  raw.socket.write(JSON.stringify({ type: 'hello', role: 'client', version: 1 }) + '\n' + JSON.stringify({ type: 'observe', run_id: runId, from: 0, ...(print ? { print } : {}) }) + '\n');
  return raw;
}

/** What observe printed before printed blocks, from per-line messages: the line and a newline, or {"n","t","line"}. */
const perLine = (lines: Raw['lines'], json: boolean): Buffer => Buffer.from(lines.map((l) => (json ? JSON.stringify({ n: l.n, t: l.t, line: l.line }) : l.line) + '\n').join(''));

test('observe prints a many-line console byte for byte as the per-line protocol does, as text and as --json; an old-style observer still gets a message per line', async (t) => {
  const server = await startServer(tempDir());
  const gate = join(tempDir('builder-gate-'), 'open');
  const LINES = 60_000;
  const id = await liveRun(server, 'odd', 'obl-1', chattyScript(gate, LINES, 5000, '0.05'));
  const dir = tempDir('builder-observed-');
  const text = observer(t, server.remote, ['observe', id], join(dir, 'text'));
  const json = observer(t, server.remote, ['--json', 'observe', id], join(dir, 'json'));
  const old = rawObserver(server.port, id);
  const blocks = rawObserver(server.port, id, 'text');
  await waitFor('the observers to get the first line', () => text.out().length > 0 && json.out().length > 0 && old.lines.length > 0 && blocks.blocks.length > 0);
  writeFileSync(gate, '');
  assert.equal(await text.exited, 0, text.err());
  assert.equal(await json.exited, 0, json.err());
  await waitFor('the raw observers to get the end', () => old.end && blocks.end, 60000);
  assert.deepEqual(old.end.outcome, { kind: 'exited', code: 0 });
  const total = storedResults(server.dir, 'odd')[0]!.result.console_lines;
  assert.ok(total > LINES + 8, `the run stored ${total} lines`);

  // The old-style observer: every line as an output message, in order, no block.
  assert.equal(old.blocks.length, 0);
  assert.deepEqual(old.lines.map((l) => l.n), Array.from({ length: total }, (_, i) => i));
  // The one that asked for blocks got them (and nothing per line for these plain lines), back to back from line 0.
  assert.ok(blocks.blocks.length > 1 && blocks.lines.length === 0, `${blocks.blocks.length} blocks, ${blocks.lines.length} lines`);
  blocks.blocks.reduce((next, b) => (assert.equal(b.from, next), b.from + b.lines), 0);
  assert.ok(Buffer.concat(blocks.blocks.map((b) => b.bytes)).equals(perLine(old.lines, false)), 'the blocks hold what observe printed line by line');

  assert.ok(text.out().equals(perLine(old.lines, false)), 'observe prints the same bytes as from per-line messages');
  const jsonOut = json.out();
  const expected = Buffer.concat([perLine(old.lines, true), Buffer.from(JSON.stringify({ run_id: id, outcome: { kind: 'exited', code: 0 } }) + '\n')]);
  assert.ok(jsonOut.equals(expected), 'observe --json prints the same bytes as from per-line messages');
  assert.ok(text.out().includes(Buffer.from('ünïcödé ✓ and 😀 (astral)\n\n')) && text.out().includes(Buffer.from('\ufffd\ufffd not UTF-8\n')));
  old.socket.destroy();
  blocks.socket.destroy();
});

test('observe of a chatty run across a server SIGKILL and restart prints every line once and in order, as text and as --json', async (t) => {
  const dir = tempDir();
  const flags = ['--heartbeat', '1', '--reattach-grace', '20'];
  let server = await startServer(dir, flags);
  const gate = join(tempDir('builder-gate-'), 'open');
  const LINES = 40_000;
  const id = await liveRun(server, 'cut', 'obl-2', chattyScript(gate, LINES, 500, '0.05'), ['--once']);
  const out = tempDir('builder-observed-');
  const text = observer(t, server.remote, ['observe', id], join(out, 'text'));
  const json = observer(t, server.remote, ['--json', 'observe', id], join(out, 'json'));
  await waitFor('the observers to get the first line', () => text.out().length > 0 && json.out().length > 0);
  writeFileSync(gate, '');
  // Mid-stream: lines are flowing (in blocks) when the server dies.
  await waitFor('the observers to be under way', () => text.out().length > 200_000 && json.out().length > 200_000, 60000);
  server.child.kill('SIGKILL');
  await server.exited;
  server = await startServer(dir, flags, server.port);
  assert.equal(await text.exited, 0, text.err());
  assert.equal(await json.exited, 0, json.err());
  assert.match(text.err(), /reconnecting in [\d.]+ s to go on from line \d+/);
  const total = storedResults(dir, 'cut')[0]!.result.console_lines;
  const numbered = (b: Buffer) => b.toString('utf8').split('\n').filter((l) => l.startsWith('console line '));
  assert.deepEqual(numbered(text.out()), Array.from({ length: LINES }, (_, i) => `console line ${i + 1} of a chatty build`), 'every line once and in order');
  const objects = json.out().toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(objects.slice(0, -1).map((o) => o.n), Array.from({ length: total }, (_, i) => i), 'every line once and in order (--json)');
  assert.equal(objects.at(-1).run_id, id);
  // The text output is the --json output's lines, printed.
  assert.ok(text.out().equals(Buffer.from(objects.slice(0, -1).map((o) => o.line + '\n').join(''))));
});

test('an observer asking for blocks that never reads does not hold up the run, and the others get every line', async (t) => {
  const server = await startServer(tempDir(), ['--client-idle-timeout', '600']);
  const gate = join(tempDir('builder-gate-'), 'open');
  const LINES = 200_000;
  const id = await liveRun(server, 'unread', 'obl-3', chattyScript(gate, LINES, 50_000, '0'));
  const stalled = rawObserver(server.port, id, 'text');
  await waitFor('the stalled observer to get the first block', () => stalled.blocks.length > 0);
  stalled.socket.pause();
  const reader = observer(t, server.remote, ['observe', id], join(tempDir('builder-observed-'), 'text'));
  await waitFor('the reader to get the first line', () => reader.out().length > 0);
  writeFileSync(gate, '');
  const stored = await waitFor('the run to be stored while one observer reads nothing', () => storedResults(server.dir, 'unread')[0], 120000);
  assert.ok(stored.result.console_lines > LINES + 8, `the run stored ${stored.result.console_lines} lines`);
  assert.equal(await reader.exited, 0, reader.err());
  assert.equal(reader.out().toString('utf8').split('\n').filter((l) => l.startsWith('console line ')).length, LINES);
  assert.equal(stalled.socket.destroyed, false, 'the stalled observer is still connected');
  stalled.socket.destroy();
});
