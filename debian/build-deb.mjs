// Builds dist/builder_<version>_<arch>.deb with dpkg-deb from dist/builder
// (run `node build.mjs` first). Plain Node, one function per output.
//   node debian/build-deb.mjs [--from DIR] [--out DIR] [--arch ARCH] [--version V] [--fast]
//   --from DIR   where the SEA binary `builder` is (default dist/)
//   --out DIR    where the .deb goes (default dist/)
//   --arch ARCH  Debian architecture of the binary (default this machine's)
//   --version V  the package's version (default package.json's; the deployment
//                test builds a newer one to upgrade to)
//   --fast       gzip -1 instead of xz (a minute less per build; for tests,
//                which install the package but never ship it)
//
// Layout of the package:
//   /usr/lib/builder/builder            the SEA binary (multi-call, see build-sea.mjs)
//   /usr/bin/builder-{server,worker,client} -> ../lib/builder/builder
//   /usr/lib/builder/worker-sandbox     starts one worker in a container
//   /lib/systemd/system/builder.service, builder-worker@.service
//   /etc/builder/orb-build.template.*   job templates (conffiles)
//   /etc/default/builder                unit settings (conffile)
//   /usr/share/doc/builder/             copyright, changelog.gz, README.md
//   /usr/share/man/man1/builder-*.1.gz  made from each program's --help
// postinst makes the builder user and /var/lib/builder (0700).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, copyFileSync, existsSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const here = dirname(new URL(import.meta.url).pathname);
const top = join(here, '..');
const pkg = JSON.parse(readFileSync(join(top, 'package.json'), 'utf8'));
const programNames = ['builder-server', 'builder-worker', 'builder-client'];
/** The NAME lines of the man pages. */
const manSummaries = {
  'builder-server': 'keeps the schedule, queues and results of build jobs',
  'builder-worker': 'takes build jobs from builder-server and runs them',
  'builder-client': 'changes the schedule of builder-server and watches its jobs',
};
/** Lowest glibc the control file promises (Depends: libc6 (>= 2.28)); checked against the binary. */
const promisedGlibc = '2.28';

function fail(message) {
  console.error(`build-deb: ${message}`);
  process.exit(1);
}

function parseOptions(args) {
  const opts = { arch: '', from: join(top, 'dist'), out: join(top, 'dist'), version: pkg.version, fast: false };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--arch') opts.arch = args[++i] ?? fail('--arch needs a Debian architecture');
    else if (args[i] === '--from') opts.from = resolve(args[++i] ?? fail('--from needs a directory'));
    else if (args[i] === '--out') opts.out = resolve(args[++i] ?? fail('--out needs a directory'));
    else if (args[i] === '--version') opts.version = args[++i] ?? fail('--version needs a version');
    else if (args[i] === '--fast') opts.fast = true;
    else fail(`unknown option ${args[i]} (usage: build-deb.mjs [--from DIR] [--out DIR] [--arch ARCH] [--version V] [--fast])`);
  }
  opts.arch ||= execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  return opts;
}

/** Maintainer as dch has it: $DEBFULLNAME <$DEBEMAIL>, else the project's. */
function maintainer() {
  const name = process.env.DEBFULLNAME ?? 'builder maintainers';
  const mail = process.env.DEBEMAIL ?? 'builder-maintainers@example.org';
  return `${name} <${mail}>`;
}

/** Seconds for every timestamp in the package: SOURCE_DATE_EPOCH, else the last commit, so that rebuilds are identical. */
function sourceDate() {
  if (process.env.SOURCE_DATE_EPOCH) return Number(process.env.SOURCE_DATE_EPOCH);
  const r = spawnSync('git', ['-C', top, 'log', '-1', '--format=%ct'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? Number(r.stdout.trim()) : Math.floor(Date.now() / 1000);
}

/** Fills @KEY@ placeholders of a file in debian/. */
function fill(file, values) {
  return readFileSync(join(here, file), 'utf8').replace(/@([A-Z_]+)@/g, (m, key) => values[key] ?? fail(`${file}: no value for ${m}`));
}

function install(stage, path, { from, text, data, mode = 0o644 }) {
  const dest = join(stage, path);
  mkdirSync(dirname(dest), { recursive: true });
  if (from !== undefined) copyFileSync(from, dest);
  else writeFileSync(dest, data ?? text);
  chmodSync(dest, mode);
}

/** Refuses a binary that needs a newer glibc than Depends says (when objdump is there to tell). */
function checkGlibc(binary) {
  const r = spawnSync('objdump', ['-T', binary], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error || r.status !== 0) return;
  const versions = [...r.stdout.matchAll(/GLIBC_(\d+(?:\.\d+)*)/g)].map((m) => m[1].split('.').map(Number));
  const newest = versions.sort((a, b) => a[0] - b[0] || (a[1] ?? 0) - (b[1] ?? 0)).at(-1);
  const [pMajor, pMinor] = promisedGlibc.split('.').map(Number);
  if (newest && (newest[0] > pMajor || (newest[0] === pMajor && (newest[1] ?? 0) > pMinor))) {
    fail(`${binary} needs glibc ${newest.join('.')}, debian/control promises ${promisedGlibc}: raise libc6 there`);
  }
}

/** The file tree under stage/, as it will be installed. */
function stageFiles(stage, values, from) {
  const binary = join(from, 'builder');
  if (!existsSync(binary)) fail(`${binary} is missing: run \`node build.mjs\` first`);
  checkGlibc(binary);
  install(stage, 'usr/lib/builder/builder', { from: binary, mode: 0o755 });
  install(stage, 'usr/lib/builder/worker-sandbox', { from: join(here, 'worker-sandbox'), mode: 0o755 });
  mkdirSync(join(stage, 'usr/bin'), { recursive: true });
  for (const name of programNames) symlinkSync('../lib/builder/builder', join(stage, 'usr/bin', name));
  for (const unit of ['builder.service', 'builder-worker@.service']) {
    install(stage, `lib/systemd/system/${unit}`, { from: join(here, unit) });
  }
  const templates = readdirSync(join(top, 'templates')).filter((f) => f.startsWith('orb-build.template.')).sort();
  for (const t of templates) install(stage, `etc/builder/${t}`, { from: join(top, 'templates', t) });
  install(stage, 'etc/default/builder', { from: join(here, 'default') });
  install(stage, 'usr/share/doc/builder/copyright', { from: join(here, 'copyright') });
  // why mtime 0 in the gzip header: gzipSync writes none, so the file is reproducible.
  install(stage, 'usr/share/doc/builder/changelog.gz', { data: gzipSync(fill('changelog', values), { level: 9 }) });
  if (existsSync(join(top, 'README.md'))) install(stage, 'usr/share/doc/builder/README.md', { from: join(top, 'README.md') });
  install(stage, 'usr/share/lintian/overrides/builder', { from: join(here, 'lintian-overrides') });
  for (const name of programNames) {
    const page = manPage(join(from, name), name, values);
    if (page) install(stage, `usr/share/man/man1/${name}.1.gz`, { data: gzipSync(page, { level: 9 }) });
  }
}

/**
 * A man page made from `binary --help` (as help2man would, smaller), so the
 * pages never disagree with the programs. Only when the binary runs here: a
 * package for another architecture goes without.
 */
function manPage(binary, name, values) {
  const r = spawnSync(binary, ['--help'], { encoding: 'utf8', argv0: name, timeout: 30_000 });
  if (r.error || r.status !== 0) {
    console.warn(`build-deb: no man page for ${name} (${binary} --help: ${r.error?.message ?? `exit ${r.status}`})`);
    return undefined;
  }
  const lines = r.stdout.trimEnd().split('\n');
  const usage = lines[0].replace(/^usage:\s*/, '');
  // roff: \e is a backslash; a line starting with . or ' would be a request.
  const roff = (text) => text.replace(/\\/g, '\\e').replace(/^([.'])/gm, '\\&$1').replace(/-/g, '\\-');
  const date = values.DATE.split(' ').slice(1, 4).join(' ');
  return [
    `.TH ${name.toUpperCase()} 1 "${date}" "builder ${values.VERSION}" "User Commands"`,
    '.SH NAME',
    `${name} \\- ${roff(manSummaries[name])}`,
    '.SH SYNOPSIS',
    `.B ${roff(usage)}`,
    '.SH DESCRIPTION',
    '.nf',
    roff(lines.slice(1).join('\n').trim()),
    '.fi',
    '.SH SEE ALSO',
    programNames.filter((p) => p !== name).map((p) => `.BR ${p} (1)`).join(',\n'),
    '',
  ].join('\n');
}

/** Every regular file below dir, relative to it, sorted. */
function listFiles(dir, under = '') {
  const out = [];
  for (const name of readdirSync(join(dir, under)).sort()) {
    const rel = join(under, name);
    const st = lstatSync(join(dir, rel));
    if (st.isDirectory()) out.push(...listFiles(dir, rel));
    else if (st.isFile()) out.push(rel);
  }
  return out;
}

/** stage/DEBIAN: control, conffiles, md5sums and the maintainer scripts. */
function stageControl(stage, values) {
  const files = listFiles(stage);
  // Installed-Size is in KiB, counted as dpkg-gencontrol does (apparent sizes, rounded up per file).
  const kib = files.reduce((sum, f) => sum + Math.ceil(lstatSync(join(stage, f)).size / 1024), 0) + files.length;
  install(stage, 'DEBIAN/control', { text: fill('control', { ...values, INSTALLED_SIZE: String(kib) }) });
  const conffiles = files.filter((f) => f.startsWith('etc/')).map((f) => `/${f}\n`);
  install(stage, 'DEBIAN/conffiles', { text: conffiles.join('') });
  const md5 = files.map((f) => `${createHash('md5').update(readFileSync(join(stage, f))).digest('hex')}  ${f}\n`);
  install(stage, 'DEBIAN/md5sums', { text: md5.join('') });
  for (const script of ['postinst', 'prerm', 'postrm']) install(stage, `DEBIAN/${script}`, { from: join(here, script), mode: 0o755 });
}

/**
 * Makes every directory 0755 (whatever the umask, or mkdtemp's 0700) and
 * every mtime `epoch` (dpkg-deb 1.21 keeps the files' own), so that rebuilds
 * give the same package.
 */
function normalizeTree(dir, epoch) {
  chmodSync(dir, 0o755);
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (lstatSync(p).isDirectory()) normalizeTree(p, epoch);
    lutimesSync(p, epoch, epoch);
  }
  lutimesSync(dir, epoch, epoch);
}

/** The .deb: dpkg-deb with root-owned files, xz-compressed (the runtime shrinks from 86 to about 22 MB). */
function buildDeb(stage, out, epoch, fast) {
  mkdirSync(dirname(out), { recursive: true });
  const compression = fast ? ['-Zgzip', '-z1'] : ['-Zxz'];
  const r = spawnSync('dpkg-deb', ['--root-owner-group', ...compression, '--build', stage, out], {
    encoding: 'utf8',
    env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
  });
  if (r.error || r.status !== 0) fail(`dpkg-deb failed: ${r.error?.message ?? r.stderr}`);
}

const opts = parseOptions(process.argv.slice(2));
const epoch = sourceDate();
const values = {
  VERSION: opts.version,
  ARCH: opts.arch,
  MAINTAINER: maintainer(),
  DATE: new Date(epoch * 1000).toUTCString().replace('GMT', '+0000'),
};
// why a fresh temp dir: two builds at once (parallel tests) must not share one.
const stage = mkdtempSync(join(tmpdir(), 'builder-deb-'));
try {
  stageFiles(stage, values, opts.from);
  stageControl(stage, values);
  normalizeTree(stage, epoch);
  const out = join(opts.out, `builder_${opts.version}_${opts.arch}.deb`);
  buildDeb(stage, out, epoch, opts.fast);
  console.log(relative(process.cwd(), out) || out);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
