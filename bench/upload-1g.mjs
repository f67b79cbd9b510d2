// Uploads one run with a 1 GiB artifact through the real builder-server and
// reports its peak RSS (VmHWM) and the upload time. Plain Node, no framework.
//   node build.mjs --no-sea && node bench/upload-1g.mjs [--size-mib N] [--generated]
// The run is written into a fresh spool by hand (results/<job>/<run-id>/ and an
// outbox record, as the server leaves them), the server starts with --upload
// to a local HTTP sink that counts and discards the bytes. The artifact is a
// sparse file (zeros, no disk needed) unless --generated writes real bytes.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const sizeMiB = args.includes('--size-mib') ? Number(args[args.indexOf('--size-mib') + 1]) : 1024;
const generated = args.includes('--generated');
const size = sizeMiB * 1024 * 1024;
const spool = mkdtempSync(join(os.tmpdir(), 'builder-bench-'));

/** Writes a finished run and its outbox record into the spool, as the server would. */
function makeRun() {
  const runId = randomUUID();
  const dir = join(spool, 'results', 'bench', runId);
  mkdirSync(join(dir, 'artifacts', 'bin'), { recursive: true });
  const file = join(dir, 'artifacts', 'bin', 'big.bin');
  if (generated) {
    const fd = openSync(file, 'w');
    const chunk = Buffer.alloc(1 << 20);
    for (let i = 0; i < sizeMiB; i++) writeSync(fd, chunk.fill(i & 0xff));
    closeSync(fd);
  } else {
    writeFileSync(file, '');
    truncateSync(file, size);
  }
  const now = new Date().toISOString();
  const job = { name: 'bench', platform: 'bench-1', script: '#!/bin/sh\nexit 0\n', timeout_s: 3600 };
  writeFileSync(join(dir, 'result.json'), JSON.stringify({
    version: 1, run_id: runId, job, started: now, finished: now, outcome: { kind: 'exited', code: 0 },
    artifacts: [{ path: 'bin/big.bin', size, mode: 0o644 }], console_lines: 1, retries: 0, worker: null,
  }, null, 2));
  writeFileSync(join(dir, 'console.ndjson'), JSON.stringify({ t: 1000, line: 'made by bench/upload-1g.mjs' }) + '\n');
  mkdirSync(join(spool, 'outbox'), { recursive: true });
  writeFileSync(join(spool, 'outbox', `${runId}.json`), JSON.stringify({
    version: 1, run_id: runId, job: 'bench', result: `results/bench/${runId}`, enqueued: now,
    attempts: 0, failures: 0, next_attempt: now, last_error: null,
  }, null, 2));
  return runId;
}

/** An HTTP sink that discards the body, counting bytes; resolves `done` with timings when a body ends. */
function startSink() {
  let resolveDone;
  const done = new Promise((r) => (resolveDone = r));
  const server = http.createServer((req, res) => {
    const start = process.hrtime.bigint();
    let bytes = 0;
    req.on('data', (d) => (bytes += d.length));
    req.on('end', () => {
      res.writeHead(201).end('ok\n');
      resolveDone({ bytes, declared: Number(req.headers['content-length']), ms: Number(process.hrtime.bigint() - start) / 1e6 });
    });
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ server, port: server.address().port, done })));
}

function vm(pid, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

makeRun();
const sink = await startSink();
const t0 = Date.now();
const child = spawn(process.execPath, ['dist/builder-server.cjs', '--port', '0', '--dir', spool,
  '--upload', `http://bench:secret@127.0.0.1:${sink.port}/upload`], { stdio: ['ignore', 'pipe', 'pipe'] });
let err = '';
child.stderr.on('data', (d) => (err += d));
let peak = 0;
let baseline = NaN;
const poll = setInterval(() => {
  try {
    peak = Math.max(peak, vm(child.pid, 'VmHWM'));
  } catch { /* exited */ }
}, 50);
await new Promise((r) => child.stdout.on('data', (d) => String(d).includes('listening') && r()));
baseline = vm(child.pid, 'VmRSS');
const got = await sink.done;
const delivered = Date.now();
while (!/uploaded bench/.test(err) && Date.now() - delivered < 10000) await new Promise((r) => setTimeout(r, 50));
peak = Math.max(peak, vm(child.pid, 'VmHWM'));
clearInterval(poll);
child.kill('SIGTERM');
await new Promise((r) => child.once('close', r));
sink.server.close();
rmSync(spool, { recursive: true, force: true });

const rows = [
  ['artifact', `${sizeMiB} MiB (${generated ? 'generated' : 'sparse'})`],
  ['body sent / declared', `${got.bytes} / ${got.declared} bytes`],
  ['upload time (sink)', `${(got.ms / 1000).toFixed(2)} s`],
  ['throughput', `${(got.bytes / 1048576 / (got.ms / 1000)).toFixed(0)} MiB/s`],
  ['start to delivered', `${((delivered - t0) / 1000).toFixed(2)} s`],
  ['server RSS at start', `${baseline.toFixed(1)} MiB`],
  ['server peak RSS (VmHWM)', `${peak.toFixed(1)} MiB`],
  ['delivered', /uploaded bench/.test(err) && got.bytes === got.declared ? 'yes' : 'NO'],
];
for (const [k, v] of rows) console.log(`${k.padEnd(26)} ${v}`);
if (got.bytes !== got.declared || peak >= 150) process.exitCode = 1;
