// The .deb: built once here (binaries by build.mjs into a temp dir, then
// debian/build-deb.mjs), its metadata and contents, lintian, the systemd
// units, and an install into a throw-away root where the installed binaries
// run and do a full round; then remove and purge.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  assertOk, buildBinaries, envWithoutNode, haveTool, pathWithoutNode, pkgVersion, repoRoot, run, runRound, tempDir,
} from './package-tools.js';

const dir = tempDir('deb');
const out = join(dir, 'dist');
let deb = '';
let arch = '';

before(async () => {
  await buildBinaries(out);
  const built = await run(process.execPath, ['debian/build-deb.mjs', '--from', out, '--out', out], { timeoutMs: 600_000 });
  assertOk(built, 'debian/build-deb.mjs');
  arch = (await run('dpkg', ['--print-architecture'])).stdout.trim();
  deb = join(out, `builder_${pkgVersion}_${arch}.deb`);
  assert.ok(existsSync(deb), `no ${deb}; build-deb printed:\n${built.stdout}`);
}, { timeout: 900_000 });

after(() => rmSync(dir, { recursive: true, force: true }));

/** The fields of a control file (continuation lines folded into their field). */
function controlFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  let last = '';
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z-]+): ?(.*)$/.exec(line);
    if (m && !line.startsWith('  ')) fields[(last = m[1]!)] = m[2]!;
    else if (last) fields[last] += `\n${line.trim()}`;
  }
  return fields;
}

test('the package is under 40 MB and its control fields are right', async (t) => {
  const size = statSync(deb).size;
  t.diagnostic(`${deb.split('/').pop()}: ${(size / 1e6).toFixed(1)} MB`);
  assert.ok(size < 40e6, `the .deb is ${size} bytes`);
  const info = await run('dpkg-deb', ['--field', deb]);
  assertOk(info, 'dpkg-deb --field');
  const f = controlFields(info.stdout);
  assert.equal(f.Package, 'builder');
  assert.equal(f.Version, pkgVersion);
  assert.equal(f.Architecture, arch);
  assert.match(f.Depends ?? '', /\badduser\b/);
  assert.match(f.Depends ?? '', /\blibc6 \(>= [\d.]+\)/);
  assert.match(f.Recommends ?? '', /^docker\.io$/, 'docker.io is recommended: the default workers need it');
  assert.ok(Number(f['Installed-Size']) > 80_000, `Installed-Size ${f['Installed-Size']} KiB`);
  const summary = await run('dpkg-deb', ['--info', deb]);
  assertOk(summary, 'dpkg-deb --info');
  for (const part of ['conffiles', 'md5sums', 'postinst', 'prerm', 'postrm']) assert.match(summary.stdout, new RegExp(`\\b${part}\\b`));
});

test('the contents: one binary under three names, units, templates, defaults', async () => {
  const r = await run('dpkg-deb', ['--contents', deb]);
  assertOk(r, 'dpkg-deb --contents');
  const entries = new Map<string, string>();
  for (const line of r.stdout.trim().split('\n')) {
    const cols = line.split(/\s+/);
    entries.set(cols[5]!.replace(/^\./, ''), line);
  }
  const has = (path: string, re: RegExp) => assert.match(entries.get(path) ?? `(no ${path})`, re, path);
  has('/usr/lib/builder/builder', /^-rwxr-xr-x root\/root/);
  for (const name of ['builder-server', 'builder-worker', 'builder-client']) has(`/usr/bin/${name}`, /-> \.\.\/lib\/builder\/builder$/);
  has('/usr/lib/builder/worker-sandbox', /^-rwxr-xr-x/);
  has('/lib/systemd/system/builder.service', /^-rw-r--r--/);
  has('/lib/systemd/system/builder-worker@.service', /^-rw-r--r--/);
  has('/etc/default/builder', /^-rw-r--r--/);
  has('/usr/share/doc/builder/copyright', /^-rw-r--r--/);
  has('/usr/share/doc/builder/changelog.gz', /^-rw-r--r--/);
  const templates = readdirSync(join(repoRoot, 'templates')).filter((t) => t.startsWith('orb-build.template.'));
  assert.ok(templates.length >= 3, 'templates/ has the Debian, Ubuntu and FreeBSD templates');
  for (const t of templates) has(`/etc/builder/${t}`, /^-rw-r--r--/);

  const control = join(dir, 'control');
  assertOk(await run('dpkg-deb', ['--control', deb, control]), 'dpkg-deb --control');
  const conffiles = readFileSync(join(control, 'conffiles'), 'utf8').trim().split('\n').sort();
  const etc = [...entries.keys()].filter((p) => p.startsWith('/etc/') && !p.endsWith('/')).sort();
  assert.deepEqual(conffiles, etc, 'every file in /etc is a conffile');
});

test('lintian finds no errors', { timeout: 300_000 }, async (t) => {
  if (!haveTool(t, 'lintian', 'lintian')) return;
  const r = await run('lintian', ['--fail-on', 'error', deb], { timeoutMs: 300_000 });
  const errors = r.stdout.split('\n').filter((l) => l.startsWith('E: '));
  for (const w of r.stdout.split('\n').filter((l) => l.startsWith('W: '))) t.diagnostic(w);
  assert.deepEqual(errors, [], r.stdout + r.stderr);
  assertOk(r, 'lintian');
});

test('systemd-analyze verify accepts the units', async (t) => {
  if (!haveTool(t, 'systemd-analyze', 'systemd')) return;
  const root = join(dir, 'verify-root');
  assertOk(await run('dpkg-deb', ['-x', deb, root]), 'dpkg-deb -x');
  // why: verify loads the units' dependencies (sysinit.target, ...) from the
  // root too; cp -a keeps the host's masks (links to /dev/null) as links.
  for (const units of ['/lib/systemd/system', '/usr/lib/systemd/system']) {
    if (existsSync(units)) assertOk(await run('cp', ['-a', '--no-clobber', `${units}/.`, join(root, 'lib/systemd/system')]), 'cp units');
  }
  // why: ExecReload= runs /bin/sh (essential on Debian), which the package does not ship.
  mkdirSync(join(root, 'bin'), { recursive: true });
  if (!existsSync(join(root, 'bin/sh'))) copyFileSync('/bin/sh', join(root, 'bin/sh'));
  const r = await run('systemd-analyze', ['verify', '--man=no', `--root=${root}`, 'builder.service', 'builder-worker@debian-12.service']);
  // verify exits 0 on unknown or malformed settings too, and reports them on stderr.
  assert.equal(r.stderr.trim(), '', r.stderr);
  assertOk(r, 'systemd-analyze verify');
});

/** A root with just what dpkg and useradd need: its own passwd, group, shadow and dpkg database. */
function makeThrowAwayRoot(root: string): void {
  for (const d of ['etc', 'var/lib/dpkg/info', 'var/lib/dpkg/updates', 'tmp']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  writeFileSync(join(root, 'var/lib/dpkg/available'), '');
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');
  writeFileSync(join(root, 'etc/shadow'), 'root:*:19000:0:99999:7:::\n', { mode: 0o640 });
  writeFileSync(join(root, 'etc/gshadow'), 'root:*::\n', { mode: 0o640 });
}

test('installed into a throw-away root: the builder user, the spool, working binaries; then removed and purged', { timeout: 300_000 }, async (t) => {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    if (process.env.CI) assert.fail('installing with dpkg --root needs root');
    t.skip('installing with dpkg --root needs root');
    return;
  }
  const root = join(dir, 'root');
  makeThrowAwayRoot(root);
  const hostPasswd = readFileSync('/etc/passwd', 'utf8');
  // why chrootless: the root has no /bin/sh to chroot into; the maintainer
  // scripts see DPKG_ROOT and touch only the root.
  const dpkg = (...args: string[]) =>
    run('dpkg', [`--root=${root}`, '--force-script-chrootless', '--force-depends', '--log=/dev/null', ...args], { timeoutMs: 120_000 });
  assertOk(await dpkg('--install', deb), 'dpkg --install');
  assert.equal(readFileSync('/etc/passwd', 'utf8'), hostPasswd, "the host's users are untouched");

  const user = readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith('builder:'));
  assert.ok(user, 'postinst made the builder user');
  const [, , uid, gid, , home, shell] = user.split(':');
  assert.equal(home, '/var/lib/builder');
  assert.equal(shell, '/usr/sbin/nologin');
  const spool = statSync(join(root, 'var/lib/builder'));
  assert.ok(spool.isDirectory());
  assert.equal(spool.mode & 0o777, 0o700, 'the spool is 0700');
  assert.equal(String(spool.uid), uid);
  assert.equal(String(spool.gid), gid);
  const tokens = ['worker.token', 'client.token'].map((t) => {
    const st = statSync(join(root, 'etc/builder', t));
    assert.equal(st.mode & 0o777, 0o600, `${t} is 0600`);
    assert.equal(`${st.uid}:${st.gid}`, `${uid}:${gid}`, `${t} is the builder user's: the server runs as builder`);
    return readFileSync(join(root, 'etc/builder', t), 'utf8').trim();
  });
  assert.match(tokens[0]!, /^[0-9a-f]{64}$/);
  assert.notEqual(tokens[0], tokens[1], 'two different secrets');

  const env = envWithoutNode(pathWithoutNode(dir), dir);
  const bin = (name: string) => join(root, 'usr/bin', name);
  for (const name of ['builder-server', 'builder-worker', 'builder-client']) {
    assert.ok(lstatSync(bin(name)).isSymbolicLink());
    assert.equal(readlinkSync(bin(name)), '../lib/builder/builder');
    const r = await run(bin(name), ['--version'], { env });
    assertOk(r, `installed ${name} --version`);
    assert.match(r.stdout, new RegExp(`^${name} ${pkgVersion.replace(/\./g, '\\.')} \\(protocol \\d+, Node v24\\.\\d+\\.\\d+\\)`));
  }
  await runRound({ server: bin('builder-server'), worker: bin('builder-worker'), client: bin('builder-client') }, join(dir, 'round'), env);

  assertOk(await dpkg('--remove', 'builder'), 'dpkg --remove');
  assert.ok(!existsSync(bin('builder-server')), 'remove takes the binaries');
  assert.ok(existsSync(join(root, 'etc/default/builder')), 'remove keeps the conffiles');
  assertOk(await dpkg('--purge', 'builder'), 'dpkg --purge');
  assert.ok(!existsSync(join(root, 'etc/default/builder')), 'purge takes the conffiles');
  assert.ok(!existsSync(join(root, 'etc/builder/worker.token')), 'purge takes the tokens postinst made');
  assert.ok(existsSync(join(root, 'var/lib/builder')), 'purge keeps the spool and its results');
});

test('worker-sandbox starts the worker on the host with its sandbox, the token from systemd\'s credentials and the instance\'s image', async () => {
  // A stand-in builder-worker that records its arguments, one per line, and the image it was given.
  const bin = join(dir, 'fake-worker');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'builder-worker'), `#!/bin/sh\nprintf '%s\\n' "image=$BUILDER_WORKER_IMAGE" "$@" > "${join(dir, 'worker-args')}"\nexit 0\n`, { mode: 0o755 });
  const creds = join(dir, 'creds');
  mkdirSync(creds, { recursive: true });
  writeFileSync(join(creds, 'worker.token'), 'x'.repeat(32), { mode: 0o600 });
  const sandbox = join(repoRoot, 'debian/worker-sandbox');
  const env = { PATH: `${bin}:/usr/bin:/bin`, BUILDER_REMOTE: '10.0.0.1:1234', BUILDER_WORKER_IMAGE_ubuntu_24_04: 'local/ubuntu:opam' };
  const args = async (instance: string, extra: Record<string, string> = {}) => {
    assertOk(await run('sh', [sandbox, instance], { env: { ...env, ...extra } }), `worker-sandbox ${instance}`);
    return readFileSync(join(dir, 'worker-args'), 'utf8').trim().split('\n');
  };
  const debian = await args('debian-12');
  assert.deepEqual(debian, ['image=', 'debian-12', '--remote', '10.0.0.1:1234', '--sandbox', 'docker', '--loop', '--workdir', '/var/lib/builder-worker']);
  const ubuntu = await args('ubuntu-24.04:2', {
    CREDENTIALS_DIRECTORY: creds, BUILDER_DOCKER_FLAGS: '--memory 8g --cpus 2', BUILDER_WORKER_FLAGS: '--job-user nobody',
  });
  assert.equal(ubuntu[0], 'image=local/ubuntu:opam', 'one line of config picks the image');
  assert.equal(ubuntu[1], 'ubuntu-24.04', 'the :N suffix is not part of the platform');
  assert.equal(ubuntu[ubuntu.indexOf('--token-file') + 1], join(creds, 'worker.token'), 'the token comes from LoadCredential=');
  assert.equal(ubuntu[ubuntu.indexOf('--engine-flags') + 1], '--memory 8g --cpus 2', 'engine flags stay one argument');
  assert.deepEqual(ubuntu.slice(-2), ['--job-user', 'nobody'], 'extra worker flags come last, as words');
  const own = await args('ubuntu-24.04:3', { BUILDER_WORKER_IMAGE: 'mine:1' });
  assert.equal(own[0], 'image=mine:1', "the instance's own image wins over the per-platform line");
  for (const [instance, extra] of [['x;reboot', {}], ['debian-12', { BUILDER_WORKER_SANDBOX: 'vm' }]] as const) {
    const bad = await run('sh', [sandbox, instance], { env: { ...env, ...extra } });
    assert.equal(bad.code, 124, `${instance} ${JSON.stringify(extra)}: exit ${bad.code}`);
    assert.equal(bad.stderr.trim().split('\n').length, 1, 'one line says why');
  }
});
