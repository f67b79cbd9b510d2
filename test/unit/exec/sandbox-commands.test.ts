import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerName, engineEnv, imageFor, killArgs, runArgs, splitFlags } from '../../../src/exec/sandbox/container.js';
import { checkSnapshot, cloneArgs, createArgs, destroyArgs, execArgs, jailNames, removeArgs } from '../../../src/exec/sandbox/jail.js';
import { jobEnv } from '../../../src/exec/sandbox/job-env.js';
import { resolveJobUser } from '../../../src/exec/sandbox/job-user.js';
import type { SandboxJob } from '../../../src/exec/sandbox/sandbox.js';

const RUN = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const job = (shebang: boolean): SandboxJob => ({ runId: RUN, name: 'hello', dir: '/tmp/builder-abc', script: 'job.sh', shebang });

test('a platform names its default image: its first dash becomes a colon', () => {
  assert.equal(imageFor('debian-12'), 'debian:12');
  assert.equal(imageFor('ubuntu-24.04'), 'ubuntu:24.04');
  assert.equal(imageFor('alpine'), 'alpine');
});

test('docker run gets a fresh named --rm container with only the job dir mounted and BUILDER_JOB set', () => {
  const args = runArgs({ engine: 'docker', image: 'debian:12', engineFlags: ['--memory', '8g'] }, job(true));
  assert.deepEqual(args, [
    'run', '--rm', '--init',
    '--name', `builder-job-${RUN}`,
    '--label', `builder.run=${RUN}`,
    '--volume', '/tmp/builder-abc:/builder-job',
    '--workdir', '/builder-job',
    '--env', 'BUILDER_JOB=hello',
    '--memory', '8g',
    'debian:12',
    '/builder-job/job.sh',
  ]);
  assert.ok(!args.includes('--network'), 'the engine\'s default network unless --engine-flags sets one');
  assert.equal(args.filter((a) => a === '--volume' || a === '-v').length, 1, 'one mount: the job dir');
  assert.deepEqual(runArgs({ engine: 'podman', image: 'x', engineFlags: [] }, job(false)).slice(-3), ['x', '/bin/sh', '/builder-job/job.sh']);
});

test('a container is killed through the engine by name: TERM, then removed by force', () => {
  assert.equal(containerName(RUN), `builder-job-${RUN}`);
  assert.deepEqual(killArgs(RUN, 'SIGTERM'), ['kill', '--signal', 'TERM', `builder-job-${RUN}`]);
  assert.deepEqual(killArgs(RUN, 'SIGKILL'), ['rm', '--force', `builder-job-${RUN}`]);
});

test('--engine-flags splits at white space; the engine CLI never gets a BUILDER_* variable', () => {
  assert.deepEqual(splitFlags('  --network none\t--cpus 2 '), ['--network', 'none', '--cpus', '2']);
  assert.deepEqual(splitFlags(undefined), []);
  assert.deepEqual(engineEnv({ PATH: '/bin', DOCKER_HOST: 'unix:///x', BUILDER_TOKEN: 'secret', BUILDER_REMOTE: 'r' }), { PATH: '/bin', DOCKER_HOST: 'unix:///x' });
});

test('a jail run is a clone beside the snapshot\'s dataset, a persistent jail without network, jexec, jail -r, zfs destroy', () => {
  checkSnapshot('zroot/jails/freebsd-14@clean');
  for (const bad of ['zroot/jails', '@x', 'zroot//a@x', 'zroot/a@', 'zroot/a@x y', '-o@x']) assert.throws(() => checkSnapshot(bad), /--jail-snapshot must be POOL\/DATASET@SNAPSHOT/, bad);
  const n = jailNames('zroot/jails/freebsd-14@clean', RUN, '/var/tmp');
  const name = `builder-job-${RUN}`;
  assert.deepEqual(n, { jail: name, dataset: `zroot/jails/${name}`, root: `/var/tmp/${name}` });
  assert.deepEqual(cloneArgs('zroot/jails/freebsd-14@clean', n), ['clone', '-o', `mountpoint=/var/tmp/${name}`, 'zroot/jails/freebsd-14@clean', `zroot/jails/${name}`]);
  assert.deepEqual(createArgs({ snapshot: 'zroot/jails/freebsd-14@clean', params: ['ip4.addr=lo1|127.0.2.10'] }, n), [
    '-c', `name=${name}`, `path=/var/tmp/${name}`, `host.hostname=${name}`, 'persist', 'mount.devfs', 'ip4=disable', 'ip6=disable', 'ip4.addr=lo1|127.0.2.10',
  ]);
  assert.deepEqual(execArgs(n, job(true)), [name, '/bin/sh', '-c', 'cd /builder-job && exec /builder-job/job.sh']);
  assert.deepEqual(execArgs(n, job(false)), [name, '/bin/sh', '-c', 'cd /builder-job && exec /bin/sh /builder-job/job.sh']);
  assert.deepEqual(removeArgs(n), ['-r', name]);
  assert.deepEqual(destroyArgs(n), ['destroy', '-f', '-r', `zroot/jails/${name}`]);
  assert.equal(jailNames('tank@s', RUN, '/j').dataset, `tank/${name}`, 'a snapshot of a pool\'s root dataset clones into the pool');
});

test('a job\'s environment is built from nothing: no BUILDER_* variable, no token, nothing else of the worker\'s', () => {
  const worker = { PATH: '/usr/bin:/bin', HOME: '/root', LANG: 'C.UTF-8', TERM: 'xterm', BUILDER_TOKEN: 'tok-0123456789abcdef', BUILDER_REMOTE: '127.0.0.1:1', AWS_SECRET_ACCESS_KEY: 'x', CREDENTIALS_DIRECTORY: '/run/credentials/w' };
  assert.deepEqual(jobEnv(worker, { name: 'j', home: '/tmp/builder-1', user: 'nobody' }), { PATH: '/usr/bin:/bin', HOME: '/tmp/builder-1', LANG: 'C.UTF-8', TERM: 'xterm', USER: 'nobody', LOGNAME: 'nobody', BUILDER_JOB: 'j' });
  assert.equal(jobEnv({}, { name: 'j', home: '/' }).PATH, '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
});

test('--job-user takes a name or UID[:GID]; root only when named; unknown users are a usage error', () => {
  assert.deepEqual(resolveJobUser('61001:61002'), { name: '61001', uid: 61001, gid: 61002 });
  assert.deepEqual(resolveJobUser('61003'), { name: '61003', uid: 61003, gid: 61003 });
  assert.equal(resolveJobUser('root'), null);
  assert.equal(resolveJobUser('0'), null);
  assert.throws(() => resolveJobUser('5:0'), /unprivileged/);
  assert.throws(() => resolveJobUser('no-such-user-here'), /--job-user no-such-user-here: no such user/);
  const dflt = resolveJobUser(undefined);
  assert.ok(dflt && dflt.uid !== 0 && ['builder-job', 'nobody'].includes(dflt.name), 'the default is builder-job or nobody');
});
