// Every shell script of the packaging (debian/, freebsd/) and the job
// templates is POSIX sh that shellcheck passes without a warning.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { haveTool, repoRoot, run } from './package-tools.js';

/** Files below dir whose first line is a #! for sh. */
function shellScripts(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return shellScripts(p);
    const head = readFileSync(p, 'utf8').slice(0, 64);
    return /^#!\s*\/bin\/sh\b/.test(head) ? [p] : [];
  });
}

const scripts = ['debian', 'freebsd', 'templates'].flatMap((d) => shellScripts(join(repoRoot, d)));
const names = scripts.map((p) => relative(repoRoot, p));

test('the packaging scripts are all found', () => {
  for (const expected of [
    'debian/postinst', 'debian/prerm', 'debian/postrm', 'debian/worker-sandbox',
    'freebsd/rc.d/builder', 'freebsd/rc.d/builder_worker', 'freebsd/jail-run', 'freebsd/supervise', 'freebsd/create_package.sh',
    'freebsd/pkg/+PRE_INSTALL', 'freebsd/pkg/+POST_INSTALL', 'freebsd/pkg/+PRE_DEINSTALL',
  ]) {
    assert.ok(names.includes(expected), `${expected} is not among the scripts found: ${names.join(', ')}`);
  }
});

test('shellcheck passes every script as POSIX sh', async (t) => {
  if (!haveTool(t, 'shellcheck', 'shellcheck')) return;
  const r = await run('shellcheck', ['--shell=sh', '--severity=style', '--format=gcc', ...scripts]);
  assert.equal(r.code, 0, `shellcheck:\n${r.stdout}${r.stderr}`);
  t.diagnostic(`${scripts.length} scripts: ${names.join(' ')}`);
});

test('the scripts that run as programs are executable in the tree', () => {
  for (const p of scripts) {
    if (p.includes('/templates/')) continue; // templates are read by the server, not run here
    assert.ok((statSync(p).mode & 0o111) !== 0, `${relative(repoRoot, p)} is not executable`);
  }
});
