// Shared by the package-*.test.ts files: building the binaries into a temp
// dir, finding system tools, and one schedule -> worker -> result round with
// real binaries under a PATH that has no node.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

/** The repository (tests run compiled from build/test/integration/). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export const pkgVersion: string = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;

/** A fresh temp dir for one test file. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `builder-${prefix}-`));
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (or kills it after timeoutMs) and returns what it printed. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? repoRoot, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // why 'close', not 'exit': the output is complete only when the pipes close.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Fails with everything the command printed unless it exited 0. */
export function assertOk(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
}

/**
 * Whether a system tool is there. If not: under CI (process.env.CI) the test
 * fails, since CI must install it; elsewhere it is skipped, naming the Debian
 * package to install.
 */
export function haveTool(t: TestContext, tool: string, debPackage: string): boolean {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
  if (found) return true;
  const message = `${tool} is missing: apt-get install ${debPackage}`;
  if (process.env.CI) assert.fail(`${message} (CI must have it: see .ci/run)`);
  t.skip(message);
  return false;
}

/** Builds the bundles and SEA binaries into outDir with build.mjs (never into the dist/ other tests use). */
export async function buildBinaries(outDir: string, extra: string[] = []): Promise<void> {
  assertOk(await run(process.execPath, ['build.mjs', '--outdir', outDir, ...extra], { timeoutMs: 300_000 }), 'node build.mjs');
}

/**
 * A PATH with every command of /usr/bin and /bin but node (and npm, npx,
 * corepack), so that a binary that secretly needed Node would fail.
 */
export function pathWithoutNode(dir: string): string {
  const bin = join(dir, 'no-node-bin');
  mkdirSync(bin, { recursive: true });
  const hidden = new Set(['node', 'nodejs', 'npm', 'npx', 'corepack']);
  for (const from of ['/usr/local/bin', '/usr/bin', '/bin']) {
    let names: string[];
    try {
      names = readdirSync(from);
    } catch {
      continue;
    }
    for (const name of names) {
      if (hidden.has(name)) continue;
      try {
        symlinkSync(join(from, name), join(bin, name));
      } catch {
        // EEXIST: an earlier directory had it, as PATH order would.
      }
    }
  }
  assert.notEqual(spawnSync('sh', ['-c', 'command -v node'], { env: { PATH: bin } }).status, 0, 'node is still on the PATH');
  return bin;
}

/** The environment for the binaries: no node on PATH, nothing that would steer a Node runtime. */
export function envWithoutNode(path: string, home: string): NodeJS.ProcessEnv {
  return { PATH: path, HOME: home, TMPDIR: tmpdir(), LANG: 'C.UTF-8', NO_COLOR: '1' };
}

/** Starts builder-server on port 0 and waits for its `listening IP:PORT` line. */
async function startServer(server: string, spool: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; port: number; log: () => string }> {
  const child = spawn(server, ['--ip', '127.0.0.1', '--port', '0', '--dir', spool], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const log = () => out;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`builder-server printed no listening line in 20 s:\n${out}`)), 20_000);
    const check = () => {
      const m = /builder-server \S+ listening 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`builder-server exited (${code}) before listening:\n${out}`));
    });
  });
  return { child, port, log };
}

/** Stops a child: SIGTERM, then SIGKILL if it is still there after 5 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Every file below dir, as paths. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesBelow(p) : [p];
  });
}

/** Polls until `probe` returns a value or the deadline passes. */
async function waitFor<T>(what: string, probe: () => T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Programs {
  server: string;
  worker: string;
  client: string;
}

/**
 * One full round with real binaries: server on port 0, the client schedules
 * a job (period never) and executes it, one worker runs it and exits 0, and
 * the result lands in <spool>/results/NAME/<run-id>/result.json with outcome
 * exited 0 and the job's artifact.
 */
export async function runRound(programs: Programs, dir: string, env: NodeJS.ProcessEnv): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const spool = join(dir, 'spool');
  const script = join(dir, 'job.sh');
  writeFileSync(script, '#!/bin/sh\necho "building on $(uname -s)"\necho built > artifact.txt\n', { mode: 0o644 });
  const name = 'package-round';
  const platform = 'package-test';
  const { child: server, port, log } = await startServer(programs.server, spool, env);
  try {
    const remote = `127.0.0.1:${port}`;
    const client = (...args: string[]) => run(programs.client, ['--remote', remote, ...args], { env, timeoutMs: 30_000 });
    assertOk(await client('schedule', name, platform, script, '--period', 'never'), 'builder-client schedule');
    assertOk(await client('execute', name), 'builder-client execute');
    const worker = await run(programs.worker, [platform, '--remote', remote], { env, timeoutMs: 60_000 });
    assertOk(worker, 'builder-worker (one job)');
    const runDir = await waitFor('results/<run-id>/result.json', () => {
      const jobDir = join(spool, 'results', name);
      let ids: string[];
      try {
        ids = readdirSync(jobDir);
      } catch {
        return undefined;
      }
      return ids.map((id) => join(jobDir, id)).find((d) => {
        try {
          return statSync(join(d, 'result.json')).isFile();
        } catch {
          return false;
        }
      });
    });
    const result = JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8'));
    assert.deepEqual(result.outcome, { kind: 'exited', code: 0 }, `result.json: ${JSON.stringify(result)}\nserver log:\n${log()}`);
    const artifact = filesBelow(runDir).find((f) => f.endsWith('/artifact.txt'));
    assert.ok(artifact, `no artifact.txt under ${runDir}`);
    assert.equal(readFileSync(artifact, 'utf8'), 'built\n');
  } finally {
    await stopChild(server);
  }
}
