import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { after } from 'node:test';

// A fixture that runs the real programs (the bundles in dist/) as separate
// processes on loopback with a temp spool, and kills every child it started
// (TERM, then KILL) when the test file ends.

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const DIST = join(ROOT, 'dist');

const children = new Set<ChildProcess>();
after(async () => {
  await Promise.all([...children].map((c) => stopChild(c)));
});

/** Stops a child: TERM, then KILL after 3 s; resolves when it is gone. */
export function stopChild(c: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    const t = setTimeout(() => c.kill('SIGKILL'), 3000);
    c.once('close', () => {
      clearTimeout(t);
      r();
    });
    c.kill(signal);
  });
}

/** A started program with everything it printed so far. */
export interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns one of our programs (`builder-server`, `builder-worker`, `builder-client`, `quickstart`). */
export function spawnProgram(name: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const child = spawn(process.execPath, [join(DIST, `${name}.cjs`), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: '1', BUILDER_REMOTE: '', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('close', (code, signal) => {
      children.delete(child);
      r({ code, signal });
    }),
  );
  return { child, out: () => out, err: () => err, exited };
}

/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 15000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A fresh temp directory. */
export function tempDir(prefix = 'builder-test-'): string {
  return mkdtempSync(join(os.tmpdir(), prefix));
}

/** Writes an executable job script into `dir` and returns its path. */
export function writeScript(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  chmodSync(p, 0o755);
  return p;
}

/** A running server started on port 0 with its spool in `dir`. */
export interface TestServer extends Proc {
  dir: string;
  remote: string;
  port: number;
}

/** Starts builder-server on 127.0.0.1:0 (or `port`) with its spool in `dir` and waits for its listening line. */
export async function startServer(dir: string, args: string[] = [], port = 0, timeoutMs = 15000): Promise<TestServer> {
  const p = spawnProgram('builder-server', ['--ip', '127.0.0.1', '--port', String(port), '--dir', dir, ...args]);
  const line = await waitFor('the server to listen', () => {
    if (p.child.exitCode !== null) throw new Error(`builder-server exited: ${p.err()}`);
    return / listening 127\.0\.0\.1:(\d+)/.exec(p.out());
  }, timeoutMs);
  const listenPort = Number(line[1]);
  return { ...p, dir, port: listenPort, remote: `127.0.0.1:${listenPort}` };
}

/** Runs builder-client to completion. */
export async function client(remote: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  // --socket and --remote exclude each other: a call that names the socket gets no --remote.
  const p = spawnProgram('builder-client', args.includes('--socket') ? args : ['--remote', remote, ...args], { env });
  const { code } = await p.exited;
  return { code, out: p.out(), err: p.err() };
}

/** Runs builder-client with --json and parses its output; fails the test on a non-zero exit. */
export async function clientJson<T = any>(remote: string, args: string[]): Promise<T> {
  const r = await client(remote, ['--json', ...args]);
  if (r.code !== 0) throw new Error(`builder-client ${args.join(' ')} exited ${r.code}: ${r.err}`);
  return JSON.parse(r.out) as T;
}

/**
 * Starts a worker for `platform` against `remote`. As root, unless the test
 * picks a sandbox or a job user, its jobs run as root too (the in-sandbox
 * mode, `--job-user root`), so job scripts can write into the test's temp
 * dirs; test/integration/isolation.test.ts covers the job-user switch.
 */
export function startWorker(remote: string, platform: string, args: string[] = []): Proc {
  const asRoot = process.getuid?.() === 0 && !args.some((a) => a === '--job-user' || a === '--sandbox');
  return spawnProgram('builder-worker', [platform, '--remote', remote, ...(asRoot ? ['--job-user', 'root'] : []), ...args]);
}

/** Schedules a job (period never by default) from script text; fails the test if refused. */
export async function scheduleJob(server: TestServer, name: string, platform: string, script: string, args: string[] = []): Promise<void> {
  const file = writeScript(tempDir('builder-script-'), `${name}.sh`, script);
  const r = await client(server.remote, ['schedule', name, platform, file, ...(args.length ? args : ['--period', 'never'])]);
  if (r.code !== 0) throw new Error(`schedule ${name} failed (${r.code}): ${r.err}`);
}

/** Every stored result of a job in a spool, oldest first, with its directory. */
export function storedResults(dir: string, name: string): { dir: string; result: any }[] {
  const jobDir = join(dir, 'results', name);
  if (!existsSync(jobDir)) return [];
  return readdirSync(jobDir)
    .map((id) => ({ dir: join(jobDir, id), result: JSON.parse(readFileSync(join(jobDir, id, 'result.json'), 'utf8')) }))
    .sort((a, b) => a.result.started.localeCompare(b.result.started));
}

/** The console lines of a stored run. */
export function storedConsole(runDir: string): string[] {
  return readFileSync(join(runDir, 'console.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l).line as string);
}

/** Whether a process still exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Reads a pid a job script wrote into `file`, waiting until it is there. */
export function pidFrom(file: string): Promise<number> {
  return waitFor(`a pid in ${file}`, () => {
    try {
      return Number(readFileSync(file, 'utf8').trim()) || 0;
    } catch {
      return 0;
    }
  });
}
