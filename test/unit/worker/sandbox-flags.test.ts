import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { joinEngineFlags, sandboxFromFlags } from '../../../src/worker/sandbox-flags.js';

test('--engine-flags keeps a value that starts with a dash', () => {
  assert.deepEqual(joinEngineFlags(['p', '--engine-flags', '--memory 8g', '--once']), ['p', '--engine-flags=--memory 8g', '--once']);
  assert.deepEqual(joinEngineFlags(['--engine-flags=--cpus 2']), ['--engine-flags=--cpus 2']);
});

test('sandbox flags that do not fit the sandbox are usage errors naming the flag', () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ sandbox: 'vm' }, /--sandbox must be one of none, docker, podman, jail, not "vm"/],
    [{ image: 'debian:12' }, /--image is for --sandbox docker or podman, not none/],
    [{ sandbox: 'docker', 'job-user': 'nobody' }, /--job-user is for --sandbox none, not docker/],
    [{ sandbox: 'docker', 'jail-snapshot': 'z/a@b' }, /--jail-snapshot is for --sandbox jail, not docker/],
    [{ 'engine-flags': '--memory 1g' }, /--engine-flags is for --sandbox docker or podman or jail, not none/],
    [{ sandbox: 'jail' }, /--sandbox jail needs --jail-snapshot/],
    [{ sandbox: 'jail', 'jail-snapshot': 'nope' }, /--jail-snapshot must be POOL\/DATASET@SNAPSHOT/],
    [{ sandbox: '' }, /--sandbox needs a value/],
  ];
  for (const [args, why] of bad) assert.throws(() => sandboxFromFlags(args, 'debian-12'), (e: Error & { code?: string }) => e.code === 'usage' && why.test(e.message), JSON.stringify(args));
});

test('as root, a --workdir the job user cannot enter is a usage error at start', { skip: process.getuid?.() === 0 ? false : 'needs root (--job-user)' }, () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'builder-wd-'));
  chmodSync(dir, 0o700);
  assert.throws(() => sandboxFromFlags({ 'job-user': '61005', workdir: dir }, 'debian-12'), /--workdir .*: the job user 61005 cannot enter it \(chmod o\+x/);
  chmodSync(dir, 0o711);
  assert.equal(sandboxFromFlags({ 'job-user': '61005', workdir: dir }, 'debian-12').kind, 'none');
});
