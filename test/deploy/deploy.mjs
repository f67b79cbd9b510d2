// The deployment test (`npm run test:deploy`): the .deb installed for real in
// a Debian 12 booted with systemd (systemd-nspawn -b) with Debian's docker.io,
// then used as an operator would. Read it top to bottom: the walk-through is
// at the end, each step one `step(...)` with what it asserts.
//
// Needs root, systemd-nspawn, debootstrap and the Debian mirror apt uses (or
// the cache below); without them it says why and exits 0 (.ci/run installs
// the tools). The machine: a debootstrap --variant=minbase bookworm rootfs
// with systemd, docker.io and the package's dependencies installed before
// boot, booted with --register=no --keep-unit --private-network and
// SYSTEMD_SECCOMP=0 (for nspawn only); a oneshot unit inside makes the cgroup
// v1 controllers writable before containerd and docker start. The job image is
// the minbase rootfs, `docker import`ed (no Docker Hub).
//
// Cache: /var/cache/builder-deploy/<hash of what builds them>/ keeps the
// machine's rootfs and the image tarball (BUILDER_DEPLOY_CACHE=DIR elsewhere,
// =off for none). Each run boots a fresh copy.
//
// Exit: 0 when every step passed (or the test was skipped), 1 otherwise.
// The last line is `deploy: N passed, N failed, N skipped`.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const top = join(dirname(new URL(import.meta.url).pathname), '..', '..');
const pkg = JSON.parse(readFileSync(join(top, 'package.json'), 'utf8'));
const started = Date.now();
const SUITE = 'bookworm';
const SOCKET = '/run/builder/builder.sock';

// ---------------------------------------------------------------- host helpers

function note(text) {
  process.stdout.write(`deploy: ${text}\n`);
}

function skip(why) {
  note(`skipped: ${why}`);
  note('0 passed, 0 failed, 1 skipped');
  process.exit(0);
}

/** Runs a host command; throws with its output when it fails (unless `ok` lists the code). */
function sh(cmd, args, { ok = [0], input, timeoutMs = 600_000, env } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: timeoutMs, maxBuffer: 256 << 20, env: env ?? process.env });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (!ok.includes(r.status)) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}:\n${(r.stderr + r.stdout).slice(-3000)}`);
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** sh, without blocking the event loop (for commands run side by side). */
function shAsync(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out.slice(-3000)}`))));
  });
}

const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** Waits until `fn()` returns a truthy value (polled every 250 ms), or throws naming `what`. */
async function waitFor(what, fn, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

// ------------------------------------------------------- the machine's rootfs

/** The Debian mirror apt uses on this host (deb822 or one-line sources), else deb.debian.org. */
function debianMirror() {
  const files = ['/etc/apt/sources.list', ...(existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').map((f) => `/etc/apt/sources.list.d/${f}`) : [])];
  for (const f of files.filter((f) => /\.(list|sources)$/.test(f) && existsSync(f))) {
    const text = readFileSync(f, 'utf8');
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(text);
    if (oneLine) return oneLine[1];
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza);
      if (uri && /^Suites:.*\bbookworm\b/m.test(stanza) && !/security/.test(uri[1])) return uri[1];
    }
  }
  return 'http://deb.debian.org/debian';
}

/** Packages the machine gets before boot: systemd, docker.io and what the .deb Depends on. */
const MACHINE_PACKAGES = ['systemd', 'systemd-sysv', 'dbus', 'docker.io', 'iproute2', 'ca-certificates', 'adduser', 'passwd', 'libgcc-s1', 'libstdc++6'];

/** The oneshot unit that makes the cgroup v1 controllers writable (nspawn mounts them read-only) before containerd and docker. */
const CGROUP_UNIT = `[Unit]
Description=cgroup v1 controllers writable for containerd and docker
DefaultDependencies=no
After=local-fs.target
Before=containerd.service docker.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'mount -o remount,rw /sys/fs/cgroup || true; for d in /sys/fs/cgroup/*/; do mount -o bind,remount,rw "$d" || true; done'

[Install]
WantedBy=multi-user.target
`;

/** Builds (or finds in the cache) the machine rootfs and the job image; returns their paths. */
function prepareRootfs(mirror) {
  const recipe = JSON.stringify({ v: 1, suite: SUITE, mirror, packages: MACHINE_PACKAGES, unit: CGROUP_UNIT });
  const key = createHash('sha256').update(recipe).digest('hex').slice(0, 16);
  const cacheSetting = process.env.BUILDER_DEPLOY_CACHE ?? '/var/cache/builder-deploy';
  if (cacheSetting === 'off') machine.nocache = mkdtempSync('/var/tmp/builder-deploy-nocache-');
  const cache = machine.nocache || cacheSetting;
  const done = join(cache, key);
  if (existsSync(join(done, 'ready'))) {
    note(`rootfs and image from the cache ${done}`);
    return { rootfs: join(done, 'rootfs'), image: join(done, 'image.tar.gz') };
  }
  mkdirSync(cache, { recursive: true });
  const work = `${done}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  note(`debootstrap --variant=minbase ${SUITE} from ${mirror} (not cached yet: a few minutes)`);
  sh('debootstrap', ['--variant=minbase', SUITE, join(work, 'base'), mirror], { timeoutMs: 1_200_000 });
  rmSync(join(work, 'base/var/cache/apt/archives'), { recursive: true, force: true });
  mkdirSync(join(work, 'base/var/cache/apt/archives/partial'), { recursive: true });
  // The job image: the bare minbase system, as `docker import` takes it.
  sh('sh', ['-c', `tar -C '${work}/base' --numeric-owner -c . | gzip -1 > '${work}/image.tar.gz'`]);
  renameSync(join(work, 'base'), join(work, 'rootfs'));
  const root = join(work, 'rootfs');
  note(`installing ${MACHINE_PACKAGES.join(' ')} into the machine`);
  sh('mount', ['--bind', '/proc', join(root, 'proc')]);
  try {
    sh('chroot', [root, 'sh', '-c', `apt-get update -qq && apt-get install -y -qq --no-install-recommends ${MACHINE_PACKAGES.join(' ')} && apt-get clean`], {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DEBIAN_FRONTEND: 'noninteractive', LANG: 'C.UTF-8' },
      timeoutMs: 1_200_000,
    });
  } finally {
    sh('umount', [join(root, 'proc')]);
  }
  writeFileSync(join(root, 'etc/systemd/system/cgroup-rw.service'), CGROUP_UNIT);
  sh('ln', ['-sf', '/etc/systemd/system/cgroup-rw.service', join(root, 'etc/systemd/system/multi-user.target.wants/cgroup-rw.service')]);
  writeFileSync(join(root, 'etc/hostname'), 'builder-deploy\n');
  writeFileSync(join(root, 'etc/machine-id'), '');
  rmSync(done, { recursive: true, force: true });
  renameSync(work, done);
  writeFileSync(join(done, 'ready'), `${recipe}\n`);
  return { rootfs: join(done, 'rootfs'), image: join(done, 'image.tar.gz') };
}

// ------------------------------------------------------------- the machine

/** One booted machine: the nspawn process, its init (for nsenter) and a log. */
const machine = { dir: '', share: '', nocache: '', nspawn: null, leader: 0, exited: null, log: '' };

/** Boots the machine's rootfs with systemd-nspawn -b and waits until systemd is up. */
async function boot() {
  const args = ['-D', machine.dir, '-b', '--register=no', '--keep-unit', '--private-network', '--console=passive',
    '-M', 'builder-deploy', `--bind=${machine.share}:/srv/deploy`];
  const child = spawn('systemd-nspawn', args, { env: { ...process.env, SYSTEMD_SECCOMP: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  machine.nspawn = child;
  child.stdout.on('data', (d) => (machine.log += d));
  child.stderr.on('data', (d) => (machine.log += d));
  machine.exited = new Promise((r) => child.once('exit', (code, signal) => r(code ?? signal)));
  machine.leader = await waitFor('the machine\'s init to start', () => {
    if (child.exitCode !== null) throw new Error(`systemd-nspawn exited ${child.exitCode}: ${machine.log.slice(-2000)}`);
    return childOf(child.pid);
  }, 30_000);
  const state = await waitFor('systemd in the machine to finish booting', () => {
    const r = inMachine('systemctl is-system-running --wait', { ok: [0, 1] });
    return ['running', 'degraded'].includes(r.out.trim()) ? r.out.trim() : false;
  }, 120_000);
  if (state === 'degraded') throw new Error(`the machine booted degraded:\n${inMachine('systemctl --failed --no-pager').out}`);
}

/** The pid of a child of `pid` (nspawn's child is the machine's init). */
function childOf(pid) {
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) return Number(p);
    } catch {
      // gone meanwhile
    }
  }
  return 0;
}

/** Runs a shell script inside the machine as root (nsenter into its namespaces, clean environment). */
function inMachine(script, { ok = [0], timeoutMs = 180_000 } = {}) {
  return sh('nsenter', ['-t', String(machine.leader), '-a', '--', '/usr/bin/env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', 'LANG=C.UTF-8',
    'DEBIAN_FRONTEND=noninteractive', '/bin/sh', '-c', script], { ok, timeoutMs });
}

/** Reboots the machine (nspawn exits 133 on a reboot, as systemd-nspawn@.service knows) and boots it again. */
async function reboot() {
  inMachine('systemctl reboot', { ok: [0, 1] });
  const code = await waitFor('the machine to go down', () => (machine.nspawn.exitCode !== null || machine.nspawn.signalCode ? machine.exited : null), 90_000);
  assert(code === 133, `systemd-nspawn exited ${code} on a reboot, not 133`);
  await boot();
}

async function powerOff() {
  if (!machine.nspawn || machine.nspawn.exitCode !== null) return;
  inMachine('systemctl poweroff', { ok: [0, 1], timeoutMs: 30_000 });
  const timer = setTimeout(() => machine.nspawn.kill('SIGKILL'), 60_000);
  await machine.exited;
  clearTimeout(timer);
}

// ----------------------------------------------------- operator's commands

/** A systemd property of a unit in the machine. */
const prop = (unit, name) => inMachine(`systemctl show -p ${name} --value '${unit}'`).out.trim();
/** The client, as root over the Unix socket (the packaged default). */
const client = (args, ok = [0]) => inMachine(`builder-client --socket ${SOCKET} ${args}`, { ok });
const clientJson = (args) => JSON.parse(client(`--json ${args}`).out);
/** This boot's journal of a unit, at PRIORITY or more important. */
const journal = (unit, priority = 'debug') => inMachine(`journalctl -b -q --no-pager -o cat -u '${unit}' -p ${priority}`).out;

/** Waits until `n` workers for `platform` are connected. */
const workersUp = (platform, n) =>
  waitFor(`${n} ${platform} workers to connect`, () => clientJson('info').workers.filter((w) => w.platform === platform).length >= n, 60_000);

/** Schedules `script` as job `name` (run once, now) and waits for its first result. */
async function runJob(name, script, { platform = 'debian-12', timeoutMs = 120_000, args = '' } = {}) {
  client(`schedule ${name} ${platform} /srv/deploy/jobs/${script} --period never`);
  client(`execute ${name}`);
  return waitFor(`a result of ${name}`, () => clientJson(`results ${name}`)[0], timeoutMs);
}

/** A run's console lines (observe of a finished run prints all of them). */
const consoleOf = (runId) => client(`--json observe ${runId}`).out.trim().split('\n').map((l) => JSON.parse(l)).filter((m) => 'line' in m).map((m) => m.line);

/** Asserts that a unit stopped for good with exit status 124 and no restart scheduled, and returns its error lines. */
async function assertStoppedWith124(unit) {
  await waitFor(`${unit} to fail`, () => prop(unit, 'ActiveState') === 'failed', 60_000);
  // why SubState: a scheduled restart shows as activating/auto-restart, never failed/failed.
  assert(prop(unit, 'SubState') === 'failed', `${unit}: ${prop(unit, 'SubState')}, a restart is scheduled`);
  assert(prop(unit, 'ExecMainStatus') === '124', `${unit} exited ${prop(unit, 'ExecMainStatus')}, not 124`);
  assert(prop(unit, 'NRestarts') === '0', `${unit} restarted ${prop(unit, 'NRestarts')} times`);
  const errors = journal(unit, 'err').trim();
  assert(errors !== '', `${unit}: no line at priority err in the journal:\n${journal(unit)}`);
  return errors;
}

// ------------------------------------------------------------- the steps

const results = { passed: 0, failed: 0, skipped: 0 };
let broken = false;

async function step(title, fn) {
  if (broken) {
    results.skipped++;
    note(`skip  ${title}`);
    return;
  }
  const t0 = Date.now();
  try {
    const detail = await fn();
    results.passed++;
    note(`ok    ${title} (${((Date.now() - t0) / 1000).toFixed(1)} s)${detail ? `: ${detail}` : ''}`);
  } catch (e) {
    results.failed++;
    broken = true;
    note(`FAIL  ${title} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n${String(e.stack ?? e).replace(/^/gm, '      ')}`);
    // What an operator would look at next.
    if (machine.leader && machine.nspawn?.exitCode === null) {
      const r = inMachine("systemctl --no-pager --all list-units 'builder*'; journalctl -b --no-pager -n 40 -u 'builder*'", { ok: [0, 1, 3] });
      note(`the machine's builder units and journal:\n${r.out.replace(/^/gm, '      ')}`);
    }
  }
}

// ----------------------------------------------------------- preconditions

if (process.getuid?.() !== 0) skip('needs root (systemd-nspawn, debootstrap, mounts)');
for (const tool of ['systemd-nspawn', 'nsenter', 'dpkg-deb']) if (!has(tool)) skip(`${tool} is missing (apt-get install systemd-container util-linux dpkg)`);
const mirror = debianMirror();
if (!has('debootstrap')) skip('debootstrap is missing (apt-get install debootstrap)');

const version1 = pkg.version;
const version2 = `${pkg.version}+deploy1`;
const arch = sh('dpkg', ['--print-architecture']).out.trim();
const tokens = {};
machine.share = mkdtempSync('/var/tmp/builder-deploy-share-');
let rootfs;

process.on('SIGINT', () => {
  machine.nspawn?.kill('SIGKILL');
  process.exit(130);
});

try {
  await step('build the binaries and two .deb versions', async () => {
    sh(process.execPath, ['build.mjs'], { timeoutMs: 600_000 });
    // why --fast and side by side: compressing the 100 MB runtime is the slow part.
    await Promise.all([version1, version2].map((v) => shAsync(process.execPath, ['debian/build-deb.mjs', '--fast', '--out', machine.share, '--version', v])));
    mkdirSync(join(machine.share, 'jobs'));
    for (const f of readdirSync(join(top, 'test/deploy/jobs'))) copyFileSync(join(top, 'test/deploy/jobs', f), join(machine.share, 'jobs', f));
    return `builder_${version1}_${arch}.deb, builder_${version2}_${arch}.deb`;
  });

  await step('a minbase Debian 12 with docker.io, booted with systemd-nspawn -b', async () => {
    const paths = prepareRootfs(mirror);
    rootfs = paths.rootfs;
    copyFileSync(paths.image, join(machine.share, 'image.tar.gz'));
    machine.dir = mkdtempSync('/var/tmp/builder-deploy-machine-');
    sh('cp', ['-a', '--reflink=auto', `${rootfs}/.`, machine.dir]);
    await boot();
    assert(prop('docker.service', 'ActiveState') === 'active', 'docker is not running in the machine');
    return inMachine('docker version --format "docker {{.Server.Version}}"').out.trim();
  });

  await step('the job image without Docker Hub: docker import of the minbase rootfs', () => {
    inMachine('docker import /srv/deploy/image.tar.gz debian:12 >/dev/null');
    const r = inMachine('docker run --rm debian:12 cat /etc/debian_version');
    return `debian:12 is Debian ${r.out.trim()}`;
  });

  await step('apt install the .deb: server enabled and running, tokens builder:builder 0600', () => {
    inMachine(`apt-get install -y -q /srv/deploy/builder_${version1}_${arch}.deb`);
    assert(prop('builder.service', 'UnitFileState') === 'enabled', 'builder.service is not enabled');
    for (const t of ['worker.token', 'client.token']) {
      const st = inMachine(`stat -c '%U:%G %a' /etc/builder/${t}`).out.trim();
      assert(st === 'builder:builder 600', `/etc/builder/${t} is ${st}, not builder:builder 600`);
      tokens[t] = inMachine(`cat /etc/builder/${t}`).out.trim();
      assert(tokens[t].length >= 32, `${t} is too short`);
    }
    assert(tokens['worker.token'] !== tokens['client.token'], 'the two tokens are the same');
    assert(/\bdocker\.service\b/.test(prop('builder.service', 'After')), 'builder.service is not ordered after docker.service');
    assert(!/\bdocker\.service\b/.test(prop('builder.service', 'Requires') + prop('builder.service', 'Wants')), 'builder.service needs docker: an ordering was meant');
    return inMachine('dpkg-query -W builder').out.trim();
  });

  await step('the server listens on loopback and the socket, and logged no warning', async () => {
    await waitFor('builder.service to be active', () => prop('builder.service', 'ActiveState') === 'active');
    await waitFor('the listening line', () => /builder-server \S+ listening 127\.0\.0\.1:1234/.test(journal('builder.service')));
    const warnings = journal('builder.service', 'warning').trim();
    assert(warnings === '', `the server warned at start:\n${warnings}`);
    return inMachine(`test -S ${SOCKET} && stat -c '%U %a' ${SOCKET}`).out.trim();
  });

  await step('a tokenless TCP client is refused, with a warning in the journal', async () => {
    const r = inMachine('builder-client --remote 127.0.0.1:1234 info', { ok: [123] });
    assert(/refused/.test(r.err), `the client said: ${r.err}`);
    await waitFor('the refusal at priority warning', () => /refused/.test(journal('builder.service', 'warning')));
    const withToken = inMachine('builder-client --remote 127.0.0.1:1234 --token-file /etc/builder/client.token --json info');
    JSON.parse(withToken.out);
    return r.err.trim().split('\n')[0];
  });

  await step('enable two debian-12 workers: both connect', async () => {
    inMachine('systemctl enable --now builder-worker@debian-12:1 builder-worker@debian-12:2');
    await workersUp('debian-12', 2);
    for (const i of [1, 2]) assert(prop(`builder-worker@debian-12:${i}.service`, 'ActiveState') === 'active', `worker ${i} is not active`);
    const pid = prop('builder-worker@debian-12:1.service', 'MainPID');
    const argv = inMachine(`tr '\\0' ' ' < /proc/${pid}/cmdline`).out.trim();
    assert(/--sandbox docker/.test(argv) && /--token-file \/run\/credentials\//.test(argv), `worker 1 runs ${argv}`);
    return argv;
  });

  await step('the hardening scores the README gives are systemd 252\'s', () => {
    const readme = readFileSync(join(top, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    const scores = [];
    for (const unit of ['builder.service', 'builder-worker@debian-12:1.service']) {
      const line = inMachine(`systemd-analyze security --no-pager '${unit}' | tail -1`).out;
      const score = /level for \S+: (\d+\.\d)/.exec(line)?.[1];
      assert(score, `no score in: ${line}`);
      const template = unit.startsWith('builder-worker') ? 'builder-worker@debian-12.service' : unit;
      const at = readme.indexOf(`systemd-analyze security ${template}\``);
      assert(at >= 0 && readme.slice(at, at + 80).includes(`: ${score}`), `README does not give ${score} for ${template}`);
      scores.push(`${template} ${score}`);
    }
    return scores.join(', ');
  });

  const containers = new Set();
  await step('jobs run, each in its own container, and leave no container behind', async () => {
    for (const n of [1, 2, 3]) {
      const r = await runJob(`hello-${n}`, 'hello.sh');
      assert(r.outcome.kind === 'exited' && r.outcome.code === 0, `hello-${n}: ${JSON.stringify(r.outcome)}`);
      const lines = consoleOf(r.run_id);
      assert(lines.includes('in docker: yes'), `hello-${n} did not run in a container:\n${lines.join('\n')}`);
      const host = lines.find((l) => l.startsWith('container: '))?.slice('container: '.length);
      assert(host && host !== 'builder-deploy', `hello-${n} ran on the machine itself (${host})`);
      containers.add(host);
    }
    assert(containers.size === 3, `three runs shared containers: ${[...containers]}`);
    await waitFor('no container left', () => inMachine('docker ps -aq').out.trim() === '', 30_000);
    return `containers ${[...containers].join(', ')}`;
  });

  await step('fetch a run\'s artifacts', () => {
    const r = clientJson('results hello-1')[0];
    const f = clientJson(`fetch ${r.run_id} /root/fetched`);
    assert(f.artifacts.some((a) => a.path === 'out/hello.txt'), `artifacts: ${JSON.stringify(f.artifacts)}`);
    const text = inMachine('cat /root/fetched/out/hello.txt').out.trim();
    assert(text.startsWith('made by '), text);
    return text;
  });

  await step('a hostile job finds no token, cannot reach the server, the spool or docker', async () => {
    const r = await runJob('hostile', 'hostile.sh');
    const lines = consoleOf(r.run_id);
    return checkHostile(lines);
  });

  await step('per-instance settings win: a missing image stops only that worker, with exit 124 and no restart loop', async () => {
    inMachine("echo BUILDER_WORKER_IMAGE=nosuch/image:1 > '/etc/default/builder-worker@debian-12:2' && systemctl restart 'builder-worker@debian-12:2'");
    const errors = await assertStoppedWith124('builder-worker@debian-12:2.service');
    assert(/nosuch\/image:1/.test(errors), `the error does not name the image: ${errors}`);
    assert(prop('builder-worker@debian-12:1.service', 'ActiveState') === 'active', 'worker 1 stopped too');
    inMachine("rm '/etc/default/builder-worker@debian-12:2' && systemctl reset-failed 'builder-worker@debian-12:2' && systemctl start 'builder-worker@debian-12:2'");
    await workersUp('debian-12', 2);
    return errors.split('\n')[0];
  });

  await step('no docker engine: the worker stops with exit 124 and one line', async () => {
    inMachine("systemctl stop docker.socket docker.service && systemctl restart 'builder-worker@debian-12:1'", { ok: [0, 1] });
    const errors = await assertStoppedWith124('builder-worker@debian-12:1.service');
    inMachine("systemctl start docker.socket docker.service && systemctl reset-failed 'builder-worker@debian-12:1' && systemctl start 'builder-worker@debian-12:1'");
    await workersUp('debian-12', 2);
    return errors.split('\n')[0];
  });

  await step('a configuration error or an unreadable token stops the server with exit 124, no restart loop', async () => {
    inMachine('cp /etc/default/builder /root/default.saved && echo BUILDER_PORT=99999 >> /etc/default/builder && systemctl restart builder', { ok: [0, 1] });
    const errors = await assertStoppedWith124('builder.service');
    inMachine('cp /root/default.saved /etc/default/builder && systemctl reset-failed builder');
    // A token file the server cannot read (root's, 0600): the README's former recipe.
    inMachine('chown root:root /etc/builder/worker.token && systemctl start builder', { ok: [0, 1] });
    const unreadable = await assertStoppedWith124('builder.service');
    assert(/cannot read the token file \/etc\/builder\/worker\.token .*permission denied.*chown/.test(unreadable), unreadable);
    inMachine('chown builder:builder /etc/builder/worker.token && systemctl reset-failed builder && systemctl start builder');
    await workersUp('debian-12', 2);
    return `${errors.split('\n')[0]}; ${unreadable.split('\n').at(-1)}`;
  });

  await step('systemctl restart builder: workers reconnect, jobs run', async () => {
    inMachine('systemctl restart builder');
    await workersUp('debian-12', 2);
    for (const i of [1, 2]) assert(prop(`builder-worker@debian-12:${i}.service`, 'ActiveState') === 'active', `worker ${i} is ${prop(`builder-worker@debian-12:${i}.service`, 'ActiveState')}`);
    const r = await runJob('after-restart', 'hello.sh');
    assert(r.outcome.kind === 'exited' && r.outcome.code === 0, JSON.stringify(r.outcome));
    return `run ${r.run_id}`;
  });

  await step('the original\'s layout (--ip 172.17.0.1, tokens) comes up cleanly after a reboot', async () => {
    inMachine("sed -i 's/^BUILDER_IP=.*/BUILDER_IP=172.17.0.1/; s/^BUILDER_REMOTE=.*/BUILDER_REMOTE=172.17.0.1:1234/' /etc/default/builder");
    await reboot();
    await waitFor('builder.service to be active', () => prop('builder.service', 'ActiveState') === 'active');
    await waitFor('the listening line on docker0', () => /listening 172\.17\.0\.1:1234/.test(journal('builder.service')));
    assert(prop('builder.service', 'NRestarts') === '0', `the server restarted ${prop('builder.service', 'NRestarts')} times at boot`);
    await workersUp('debian-12', 2);
    for (const i of [1, 2]) assert(prop(`builder-worker@debian-12:${i}.service`, 'NRestarts') === '0', `worker ${i} restarted at boot`);
    const r = await runJob('hostile-docker0', 'hostile.sh');
    return checkHostile(consoleOf(r.run_id), { reachable: '172.17.0.1' });
  });

  await step('back to loopback; a job runs while the package is upgraded to a newer .deb: it runs once, and the workers drain onto the new binary', async () => {
    inMachine("sed -i 's/^BUILDER_IP=.*/BUILDER_IP=127.0.0.1/; s/^BUILDER_REMOTE=.*/BUILDER_REMOTE=127.0.0.1:1234/' /etc/default/builder && systemctl restart builder 'builder-worker@debian-12:*'");
    await workersUp('debian-12', 2);
    const units = [1, 2].map((i) => `builder-worker@debian-12:${i}.service`);
    client('schedule slow debian-12 /srv/deploy/jobs/slow.sh --period never');
    client('execute slow');
    await waitFor('the slow job to start', () => clientJson('info').running.some((r) => r.name === 'slow'), 60_000);
    const before = Object.fromEntries(units.map((u) => [u, prop(u, 'MainPID')]));
    inMachine(`apt-get install -y -q /srv/deploy/builder_${version2}_${arch}.deb`);
    assert(inMachine("dpkg-query -W -f='${Version}' builder").out === version2, 'the new version is not installed');
    await waitFor('builder.service to be active', () => prop('builder.service', 'ActiveState') === 'active');
    const done = await waitFor('the slow job to succeed', () => clientJson('results slow').find((r) => r.outcome.kind === 'exited' && r.outcome.code === 0), 180_000);
    const runs = clientJson('results slow');
    assert(runs.length === 1, `${runs.length} runs of slow: ${runs.map((r) => JSON.stringify(r.outcome)).join(', ')}`);
    const lines = consoleOf(done.run_id);
    assert(lines.filter((l) => l.startsWith('slow: started')).length === 1 && lines.includes('slow: done'), `the console of slow:\n${lines.join('\n')}`);
    // Every start of a job is a `running NAME` line in its worker's journal.
    const starts = inMachine("journalctl -b -q --no-pager -o cat -u 'builder-worker@*' | grep -c 'running slow ' || true").out.trim();
    assert(starts === '1', `slow was started ${starts} times`);
    // Both workers drained (reload, not restart) and run the new binary: the old one's file was replaced, so its /proc exe reads "(deleted)".
    const after = await waitFor('both workers to be started again on the new binary', () => {
      const now = units.map((u) => ({ u, pid: prop(u, 'MainPID'), state: prop(u, 'ActiveState') }));
      if (!now.every((w) => w.state === 'active' && w.pid !== '0' && w.pid !== before[w.u])) return null;
      return now.every((w) => !inMachine(`readlink /proc/${w.pid}/exe`).out.includes('(deleted)')) ? now : null;
    }, 90_000);
    await workersUp('debian-12', 2);
    const drained = inMachine("journalctl -b -q --no-pager -o cat -u 'builder-worker@*' | grep -c 'SIGHUP: draining' || true").out.trim();
    assert(drained === '2', `${drained} workers said they drain`);
    const finished = Date.parse(done.finished) / 1000;
    const startedAt = units.map((u) => Number(inMachine(`systemctl show --timestamp=unix -p ExecMainStartTimestamp --value '${u}'`).out.trim().replace(/^@/, '')));
    assert(startedAt.some((t) => t >= finished - 1), `no worker started again after slow finished (${done.finished}): ${startedAt.join(', ')}`);
    return `1 run of slow, started once, ${JSON.stringify(done.outcome)}; workers ${after.map((w) => `${before[w.u]} -> ${w.pid}`).join(', ')}`;
  });

  await step('apt remove: workers stop before the server, nothing ends failed', () => {
    const since = inMachine('date +%s.%N').out.trim();
    inMachine('apt-get remove -y -q builder');
    for (const u of ['builder.service', 'builder-worker@debian-12:1.service', 'builder-worker@debian-12:2.service']) {
      const state = prop(u, 'ActiveState');
      assert(state === 'inactive', `${u} is ${state} after remove`);
    }
    const order = inMachine(`journalctl -q --no-pager -o cat --since @${since} _PID=1 | grep -E '^Stopped builder'`).out.trim().split('\n');
    const server = order.findIndex((l) => /builder\.service|\(server\)/.test(l));
    const lastWorker = order.map((l, i) => (/worker/.test(l) ? i : -1)).reduce((a, b) => Math.max(a, b), -1);
    assert(server > lastWorker, `stop order:\n${order.join('\n')}`);
    return order.join(' / ');
  });

  await step('apt purge: no links to worker units left, tokens gone, spool kept', () => {
    inMachine('apt-get purge -y -q builder');
    const links = inMachine("ls /etc/systemd/system/*.wants/ | grep '^builder' || true").out.trim();
    assert(links === '', `links left: ${links}`);
    const etc = inMachine('ls -A /etc/builder 2>/dev/null || true').out.trim();
    assert(etc === '', `/etc/builder keeps ${etc}`);
    const loaded = inMachine("systemctl list-units --all --no-legend 'builder*'").out.trim();
    assert(loaded === '', `units still loaded: ${loaded}`);
    return `spool kept: ${inMachine('ls /var/lib/builder').out.trim().split('\n').join(' ')}`;
  });
} finally {
  await powerOff().catch((e) => note(`power off: ${e.message}`));
  if (machine.dir) rmSync(machine.dir, { recursive: true, force: true });
  rmSync(machine.share, { recursive: true, force: true });
  if (machine.nocache) rmSync(machine.nocache, { recursive: true, force: true });
}

/**
 * The hostile job's lines: every attempt denied, and neither token's text
 * anywhere in its console. With `reachable`, the server's port answers on
 * that address (the original's layout) and must refuse both roles.
 */
function checkHostile(lines, { reachable } = {}) {
  const attempts = lines.filter((l) => l.startsWith('hostile: ') && l !== 'hostile: done');
  assert(lines.includes('hostile: done'), `the hostile job did not finish:\n${lines.join('\n')}`);
  const leaks = attempts.filter((l) => !/: denied\b/.test(l));
  assert(leaks.length === 0, `the hostile job got through:\n${leaks.join('\n')}`);
  const text = lines.join('\n');
  for (const [name, value] of Object.entries(tokens)) assert(!text.includes(value), `the ${name} is in the hostile job's console`);
  assert(attempts.some((l) => /as worker/.test(l)) && attempts.some((l) => /as client/.test(l)), 'no connection attempts');
  if (reachable) {
    const refused = attempts.filter((l) => l.includes(`${reachable}:1234`) && /unauthorized|refused/.test(l));
    assert(refused.some((l) => / as client: /.test(l)) && refused.some((l) => / as worker: /.test(l)), `on ${reachable} the server should answer and refuse both roles:\n${attempts.join('\n')}`);
  }
  return `${attempts.length} attempts denied`;
}

const seconds = ((Date.now() - started) / 1000).toFixed(0);
note(`took ${seconds} s`);
note(`${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped`);
process.exit(results.failed ? 1 : 0);
