// Counts the server's system calls per job on the spool-drop path: strace -f -c
// around builder-server while N trivial jobs pass through 2 looping workers.
// Needs strace. Start-up and shutdown are counted too (small beside N jobs).
//   node bench/strace-per-job.mjs [DIST] [N]     (DIST: built bundles, default dist/; N default 300)
// STRACE_TABLE=1 also prints the 25 most frequent calls per job.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [distArg, nArg] = process.argv.slice(2);
const dist = resolve(distArg ?? join(import.meta.dirname, '..', 'dist'));
const n = Number(nArg ?? 300);
if (!Number.isInteger(n) || n < 1) {
  console.error(`strace-per-job: bad N "${nArg}": give a whole number of jobs`);
  process.exit(124);
}
// lib.mjs reads BENCH_DIST when it loads: set it first, then import.
process.env.BENCH_DIST = dist;
const lib = await import('./lib.mjs');

const dir = lib.tempDir('builder-strace-');
const spool = join(dir, 'spool');
const out = join(dir, 'strace.txt');
const child = spawn('strace', ['-f', '-c', '-o', out, process.execPath, join(dist, 'builder-server.cjs'), '--port', '0', '--dir', spool], { stdio: ['ignore', 'pipe', 'pipe'] });
let err = '';
let so = '';
child.stderr.on('data', (d) => (err += d));
child.stdout.on('data', (d) => (so += d));
try {
  await lib.waitFor('the server to listen', () => /listening [\d.]+:(\d+)/.test(so), 60_000);
  const port = so.match(/listening [\d.]+:(\d+)/)[1];
  const workers = lib.startWorkers(`127.0.0.1:${port}`, 2);
  await lib.waitFor('2 workers', () => (err.match(/worker \w+ connected/g) ?? []).length >= 2, 30_000);
  lib.writeJobFiles(spool, n, 'true\n');
  await lib.waitFor(`${n} stored`, () => lib.resultJobCount(spool) >= n, 600_000, 50);
  await Promise.all(workers.map((w) => lib.stop(w)));
} finally {
  // strace's child is the server: stop it (not strace) so that strace writes its summary.
  const server = execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).trim().split('\n')[0];
  if (server) process.kill(Number(server), 'SIGTERM');
  await new Promise((r) => child.once('close', r));
}
const rows = readFileSync(out, 'utf8')
  .split('\n')
  .filter((l) => /^\s*[\d.]+\s+[\d.]+/.test(l))
  .map((l) => l.trim().split(/\s+/))
  .map((c) => ({ calls: Number(c[3]), name: c[c.length - 1] }))
  // strace's own "total" line sums the others: not a call.
  .filter((r) => r.name !== 'total');
const total = rows.reduce((a, r) => a + r.calls, 0);
const pick = (names) => rows.filter((r) => names.includes(r.name)).reduce((a, r) => a + r.calls, 0);
const per = (k) => +(k / n).toFixed(2);
console.log(JSON.stringify({
  jobs: n,
  syscalls_per_job: per(total),
  fsync_per_job: per(pick(['fsync', 'fdatasync'])),
  rename_per_job: per(pick(['rename', 'renameat', 'renameat2'])),
  openat_per_job: per(pick(['openat', 'open'])),
}));
if (process.env.STRACE_TABLE) console.log(rows.sort((a, b) => b.calls - a.calls).slice(0, 25).map((r) => `${r.name} ${(r.calls / n).toFixed(2)}`).join("\n"));
await lib.cleanup();
