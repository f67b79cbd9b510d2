// freebsd/jail-run, with stand-ins for zfs, jail, jls, jexec and umount that
// log their calls: a fresh clone per run, the worker copied in and started
// with --once, and the jail and clone gone afterwards, also on SIGTERM and
// after a crash. (The real commands need FreeBSD; the order of steps does not.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot, run, tempDir } from './package-tools.js';

const dir = tempDir('freebsd');
after(() => rmSync(dir, { recursive: true, force: true }));

// State lives in files: $STATE/clone-<dataset with / as _>, $STATE/jail-<name>.
const fakes: Record<string, string> = {
  zfs: `case $1 in
  list) [ -e "$STATE/clone-$(echo "$5" | tr / _)" ] ;;
  clone) mkdir -p "\${3#mountpoint=}/etc"; touch "$STATE/clone-$(echo "$5" | tr / _)" ;;
  destroy) rm -f "$STATE/clone-$(echo "$4" | tr / _)" ;;
esac`,
  jls: '[ -e "$STATE/jail-$2" ]',
  // Removing a jail kills what runs in it, as the real jail -r does.
  jail: `case $3 in
  -c) touch "$STATE/jail-$4" ;;
  -r) rm -f "$STATE/jail-$4"; [ -f "$STATE/worker.pid" ] && kill "$(cat "$STATE/worker.pid")" ;;
esac
exit 0`,
  // WORKER_DRAIN: as builder-worker on SIGHUP, it finishes (0.3 s), then exits 75.
  jexec: `[ -n "\${WORKER_DRAIN:-}" ] && { trap 'sleep 0.3; echo drained > "$STATE/drained"; exit 75' HUP; echo $$ > "$STATE/worker.pid"; while :; do sleep 0.1; done; }
[ -n "\${WORKER_SECONDS:-}" ] && { echo $$ > "$STATE/worker.pid"; exec sleep "$WORKER_SECONDS"; }
exit "\${WORKER_EXIT:-0}"`,
  umount: 'exit 0',
};

function makeFakes(name: string): { bin: string; state: string; log: string } {
  const base = join(dir, name);
  const bin = join(base, 'bin');
  const state = join(base, 'state');
  const log = join(base, 'calls.log');
  mkdirSync(bin, { recursive: true });
  mkdirSync(state, { recursive: true });
  for (const [cmd, body] of Object.entries(fakes)) {
    writeFileSync(join(bin, cmd), `#!/bin/sh\necho "${cmd} $*" >> "$CALLS"\n${body}\n`, { mode: 0o755 });
  }
  writeFileSync(join(base, 'builder-worker'), '#!/bin/sh\n', { mode: 0o755 });
  return { bin, state, log };
}

function jailRunArgs(name: string, options: string[] = []): string[] {
  const base = join(dir, name);
  return [
    join(repoRoot, 'freebsd/jail-run'), '-f', join(base, 'jail.conf'), '-s', 'zroot/builder/base@clean',
    '-r', join(base, 'jails'), '-w', join(base, 'builder-worker'), ...options, 'orba', 'freebsd-14', '127.0.2.1:1234',
  ];
}

function envFor(f: { bin: string; state: string; log: string }, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: `${f.bin}:/usr/bin:/bin`, STATE: f.state, CALLS: f.log, ...extra };
}

const calls = (log: string) => readFileSync(log, 'utf8').trim().split('\n');
const indexOf = (lines: string[], prefix: string) => lines.findIndex((l) => l.startsWith(prefix));

test('jail-run clones, copies the worker and its token in, runs it --once in the jail, then removes jail and clone', async () => {
  const f = makeFakes('normal');
  const token = join(dir, 'normal', 'worker.token');
  writeFileSync(token, 'secret\n');
  const r = await run('sh', jailRunArgs('normal', ['-t', token]), { env: envFor(f, { WORKER_EXIT: '3' }) });
  assert.equal(r.code, 3, `jail-run exits with the worker's status\n${r.stdout}${r.stderr}`);
  const lines = calls(f.log);
  const root = join(dir, 'normal', 'jails', 'orba');
  const clone = indexOf(lines, `zfs clone -o mountpoint=${root} zroot/builder/base@clean zroot/builder/run-orba`);
  const start = indexOf(lines, `jail -f ${join(dir, 'normal', 'jail.conf')} -c orba`);
  const exec = indexOf(lines, 'jexec -l -U root orba /usr/local/bin/builder-worker freebsd-14 --remote 127.0.2.1:1234 --once --token-file /usr/local/etc/builder/worker.token');
  const stop = indexOf(lines, `jail -f ${join(dir, 'normal', 'jail.conf')} -r orba`);
  const destroy = indexOf(lines, 'zfs destroy -f -r zroot/builder/run-orba');
  assert.ok(clone >= 0 && clone < start && start < exec && exec < stop && stop < destroy, lines.join('\n'));
  const worker = statSync(join(root, 'usr/local/bin/builder-worker'));
  assert.equal(worker.mode & 0o777, 0o555, 'the worker is copied in, read-only');
  const copied = join(root, 'usr/local/etc/builder/worker.token');
  assert.equal(statSync(copied).mode & 0o777, 0o400, 'the token is copied in, for root only');
  assert.equal(readFileSync(copied, 'utf8'), 'secret\n');
  assert.ok(!existsSync(join(f.state, 'clone-zroot_builder_run-orba')), 'the clone is destroyed');
  assert.ok(!existsSync(join(f.state, 'jail-orba')), 'the jail is removed');
});

test('jail-run removes what a crash left before it clones', async () => {
  const f = makeFakes('leftovers');
  writeFileSync(join(f.state, 'jail-orba'), '');
  writeFileSync(join(f.state, 'clone-zroot_builder_run-orba'), '');
  const r = await run('sh', jailRunArgs('leftovers'), { env: envFor(f) });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const lines = calls(f.log);
  assert.ok(indexOf(lines, 'zfs destroy -f -r zroot/builder/run-orba') < indexOf(lines, 'zfs clone'), lines.join('\n'));
  assert.ok(indexOf(lines, 'jail -f') < indexOf(lines, 'zfs clone'), lines.join('\n'));
});

test('SIGTERM during a job: jail-run ends at once and still removes the jail and the clone', async () => {
  const f = makeFakes('sigterm');
  const child = spawn('sh', jailRunArgs('sigterm'), { env: envFor(f, { WORKER_SECONDS: '30' }), stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!(existsSync(f.log) && readFileSync(f.log, 'utf8').includes('jexec'))) {
    assert.ok(Date.now() < deadline, 'jail-run never started the worker');
    await new Promise((r) => setTimeout(r, 50));
  }
  const started = Date.now();
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.ok(Date.now() - started < 5_000, 'it did not wait for the job to end');
  assert.equal(code, 143);
  const lines = calls(f.log);
  assert.ok(indexOf(lines, 'zfs destroy -f -r zroot/builder/run-orba') > indexOf(lines, 'jexec'), lines.join('\n'));
  assert.ok(!existsSync(join(f.state, 'clone-zroot_builder_run-orba')), 'the clone is destroyed');
});

test('SIGHUP during a job: jail-run passes it on to the worker, waits for it to drain, exits 75 and removes the jail and the clone', async () => {
  const f = makeFakes('sighup');
  const child = spawn('sh', jailRunArgs('sighup'), { env: envFor(f, { WORKER_DRAIN: '1' }), stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!existsSync(join(f.state, 'worker.pid'))) {
    assert.ok(Date.now() < deadline, 'jail-run never started the worker');
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGHUP');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 75, 'the worker\'s drain status');
  assert.ok(existsSync(join(f.state, 'drained')), 'the worker drained before jail-run ended');
  assert.ok(!existsSync(join(f.state, 'clone-zroot_builder_run-orba')), 'the clone is destroyed');
  assert.ok(!existsSync(join(f.state, 'jail-orba')), 'the jail is removed');
});

test('jail-run refuses a bad jail name or snapshot', async () => {
  const f = makeFakes('bad');
  const args = jailRunArgs('bad');
  const badName = await run('sh', [...args.slice(0, -3), 'x;y', 'freebsd-14', '127.0.2.1:1234'], { env: envFor(f) });
  assert.equal(badName.code, 124);
  const badSnap = await run('sh', [args[0]!, '-s', 'nosnapshot', 'orba', 'freebsd-14', '127.0.2.1:1234'], { env: envFor(f) });
  assert.equal(badSnap.code, 124);
  assert.ok(!existsSync(f.log), 'nothing was run');
});

test('supervise restarts a program that fails, but not one that exits 124 (a configuration error)', async () => {
  const supervise = join(repoRoot, 'freebsd/supervise');
  const counter = join(dir, 'supervise-runs');
  writeFileSync(counter, '');
  // Exits 1 twice, then 124: two restarts, then supervise gives up with one line.
  const prog = join(dir, 'flaky');
  writeFileSync(prog, `#!/bin/sh\necho run >> "${counter}"\n[ "$(wc -l < "${counter}")" -ge 3 ] && { echo "flaky: bad flag" >&2; exit 124; }\nexit 1\n`, { mode: 0o755 });
  const r = await run('sh', [supervise, prog], { timeoutMs: 30_000 });
  assert.equal(r.code, 124, r.stderr);
  assert.equal(readFileSync(counter, 'utf8').trim().split('\n').length, 3, 'restarted after exit 1, not after 124');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[1]!, /^flaky exited 124, a configuration error .*not restarting/);
});

test('supervise passes SIGTERM on to the program and exits', async () => {
  const pidFile = join(dir, 'sleeper.pid');
  const prog = join(dir, 'sleeper');
  writeFileSync(prog, `#!/bin/sh\necho $$ > "${pidFile}"\nexec sleep 60\n`, { mode: 0o755 });
  const child = spawn('sh', [join(repoRoot, 'freebsd/supervise'), prog], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  // why the number: the file exists (empty) before the pid is in it, and kill(0) would signal this test's own group.
  const pidIn = () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0);
  while (!(pidIn() > 0)) {
    assert.ok(Date.now() < deadline, 'the program never started');
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = pidIn();
  const code = await new Promise<number | null>((resolve) => {
    child.once('exit', (c) => resolve(c));
    child.kill('SIGTERM');
  });
  assert.equal(code, 0);
  assert.throws(() => process.kill(pid, 0), 'the program is gone too');
});

test('supervise passes SIGHUP on to the program, keeps waiting for it, and starts it again after it exits 75 (a drained worker)', async () => {
  const runs = join(dir, 'drain-runs');
  const hups = join(dir, 'drain-hups');
  writeFileSync(runs, '');
  writeFileSync(hups, '');
  // As builder-worker drains: on SIGHUP it finishes (0.5 s more of work), then exits 75.
  const prog = join(dir, 'drainer');
  // why the trap first: the test sends SIGHUP once the start is written.
  writeFileSync(prog, `#!/bin/sh\ntrap 'echo hup >> "${hups}"; sleep 0.5; exit 75' HUP\necho $$ >> "${runs}"\nwhile :; do sleep 0.1; done\n`, { mode: 0o755 });
  const child = spawn('sh', [join(repoRoot, 'freebsd/supervise'), prog], { stdio: 'ignore' });
  const until = async (what: string, check: () => boolean) => {
    const deadline = Date.now() + 15_000;
    while (!check()) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const lines = (f: string) => readFileSync(f, 'utf8').trim().split('\n').filter((l) => l !== '');
  try {
    await until('the program to start', () => lines(runs).length === 1);
    child.kill('SIGHUP');
    await until('the program to get the SIGHUP', () => lines(hups).length === 1);
    assert.equal(child.exitCode, null, 'supervise goes on');
    await until('the program to be started again', () => lines(runs).length === 2);
    assert.notEqual(lines(runs)[0], lines(runs)[1], 'a new process');
    assert.equal(child.exitCode, null);
  } finally {
    const code = await new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    assert.equal(code, 0);
  }
});
