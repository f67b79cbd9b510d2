import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { client, clientJson, DIST, scheduleJob, spawnProgram, startServer, startWorker, stopChild, storedConsole, storedResults, tempDir, waitFor } from './harness.js';

// Jobs are untrusted: with `--sandbox none` on a host, a worker running as
// root runs each job as an unprivileged user with an environment built from
// nothing. A hostile job looks for the credentials everywhere it can
// (its environment, every /proc/*/environ and cmdline, the token files, the
// spool), connects to the server as a client (TCP and the socket) and as a
// worker, and tries to read a running job of another job user.

const WORKER_TOKEN = 'worker-iso-5e1f0c9a7b3d2e48';
const CLIENT_TOKEN = 'client-iso-8a2d4c6e0f1b3a57';
const OTHER_SECRET = 'other-secret-3c9e7a1b5d';
const VICTIM_SECRET = 'victim-data-7d1a9f3e2b';
const asRoot = process.getuid?.() === 0;
const skip = asRoot ? false : 'needs root (the worker switches to the job user); run the suite as root';

function hostileScript(p: { remote: string; socket: string; tokens: string[]; spool: string; workRoot: string }): string {
  const node = process.execPath;
  return `#!/bin/sh
echo "uid=$(id -u) gid=$(id -g) groups=$(id -G)"
env > env.txt
for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do tr '\\0' '\\n' < "$f"; echo; done > proc.txt 2>/dev/null
for t in ${p.tokens.join(' ')}; do cat "$t" > /dev/null 2>&1 && echo "read $t" || echo "cannot read $t"; done
cat ${p.tokens.join(' ')} > tokens.txt 2>/dev/null
ls ${p.spool} > /dev/null 2>&1 && echo "spool listed" || echo "cannot list the spool"
find ${p.spool} -type f -exec cat {} + > spool.txt 2>/dev/null
for d in ${p.workRoot}/builder-*; do
  [ "$d" = "$PWD" ] && continue
  ls "$d" > /dev/null 2>&1 && echo "listed $d" || echo "cannot list another job's dir"
  cat "$d/secret.txt" >> other.txt 2>/dev/null
done
${node} ${join(DIST, 'builder-client.cjs')} --remote ${p.remote} info > client-tcp.txt 2>&1; echo "client over TCP exit $?"
BUILDER_TOKEN= ${node} ${join(DIST, 'builder-client.cjs')} --socket ${p.socket} info > client-socket.txt 2>&1; echo "client over the socket exit $?"
${node} ${join(DIST, 'builder-worker.cjs')} iso-b --remote ${p.remote} --once > worker.txt 2>&1; echo "worker exit $?"
exit 0
`;
}

test('a hostile job (none sandbox, worker as root) finds no credential, is refused as client and worker, and cannot read another job or the spool', { skip }, async () => {
  const secrets = tempDir('builder-secrets-');
  writeFileSync(join(secrets, 'worker.token'), `${WORKER_TOKEN}\n`, { mode: 0o600 });
  writeFileSync(join(secrets, 'client.token'), `${CLIENT_TOKEN}\n`, { mode: 0o600 });
  const run = tempDir('builder-run-');
  const socket = join(run, 'builder.sock');
  chmodSync(run, 0o755); // the socket's own mode (0600) must be what keeps the job out
  const workRoot = tempDir('builder-work-');
  chmodSync(workRoot, 0o755); // jobs may see each other's dir names, never their contents
  const server = await startServer(tempDir(), ['--worker-token-file', join(secrets, 'worker.token'), '--client-token-file', join(secrets, 'client.token'), '--socket', socket]);
  await waitFor('the socket', () => existsSync(socket));
  const tokens = [join(secrets, 'worker.token'), join(secrets, 'client.token')];
  const victim = `#!/bin/sh\necho ${VICTIM_SECRET} > secret.txt\nwhile [ ! -e ${workRoot}/done ]; do sleep 0.05; done\n`;
  const sched = async (name: string, platform: string, text: string) => {
    const file = join(tempDir('builder-script-'), `${name}.sh`);
    writeFileSync(file, text, { mode: 0o644 });
    const r = await client(server.remote, ['--socket', socket, 'schedule', name, platform, file, '--period', 'never']);
    assert.equal(r.code, 0, r.err);
    const e = await client(server.remote, ['--socket', socket, 'execute', name]);
    assert.equal(e.code, 0, e.err);
  };
  await sched('victim', 'iso-a', victim);
  await sched('hostile', 'iso-b', hostileScript({ remote: server.remote, socket, tokens, spool: server.dir, workRoot }));
  const env = { BUILDER_TOKEN: WORKER_TOKEN, BUILDER_OTHER: OTHER_SECRET, SOME_API_KEY: OTHER_SECRET };
  const worker = (platform: string, user: string) =>
    spawnProgram('builder-worker', [platform, '--remote', server.remote, '--sandbox', 'none', '--job-user', user, '--token-file', tokens[0]!, '--workdir', workRoot], { env });
  const a = worker('iso-a', '61001:61001');
  await waitFor('the victim job to write its secret', () => readdirSync(workRoot).some((d) => existsSync(join(workRoot, d, 'secret.txt'))));
  const b = worker('iso-b', '61002:61002');
  assert.equal((await b.exited).code, 0, b.err());
  writeFileSync(join(workRoot, 'done'), '');
  assert.equal((await a.exited).code, 0, a.err());

  const stored = (await waitFor('the hostile run to be stored', () => storedResults(server.dir, 'hostile')[0]));
  assert.deepEqual(stored.result.outcome, { kind: 'exited', code: 0 });
  const lines = storedConsole(stored.dir);
  const said = lines.join('\n');
  assert.match(said, /^uid=61002 gid=61002 groups=61002$/m, 'the job runs as its user, without the worker\'s groups');
  for (const t of tokens) assert.match(said, new RegExp(`cannot read ${t}`));
  assert.match(said, /cannot list the spool/);
  assert.match(said, /cannot list another job's dir/);
  assert.match(said, /client over TCP exit 123/);
  assert.match(said, /client over the socket exit 123/);
  assert.match(said, /worker exit 123/);
  const art = (p: string) => readFileSync(join(stored.dir, 'artifacts', p), 'utf8');
  assert.match(art('client-tcp.txt'), /client credential refused/);
  assert.match(art('client-socket.txt'), /permission denied|EACCES/i);
  assert.match(art('worker.txt'), /worker credential refused/);
  assert.equal(art('other.txt'), '', 'nothing of the other job was read');
  assert.equal(art('spool.txt'), '', 'nothing of the spool was read');
  assert.equal(art('tokens.txt'), '', 'no token file was read');
  const jobEnv = art('env.txt').split('\n').filter((l) => l !== '');
  assert.deepEqual(jobEnv.filter((l) => l.startsWith('BUILDER_')), ['BUILDER_JOB=hostile'], 'no BUILDER_* variable but the job\'s name');
  assert.ok(art('proc.txt').includes('BUILDER_JOB=hostile'), 'the job did read environ files (its own)');
  assert.ok(art('proc.txt').includes('--token-file'), 'the job did read cmdline files (the worker\'s)');
  const everything = [said, ...readdirSync(join(stored.dir, 'artifacts')).map(art)].join('\n');
  for (const secret of [WORKER_TOKEN, CLIENT_TOKEN, OTHER_SECRET, VICTIM_SECRET]) assert.ok(!everything.includes(secret), `${secret.slice(0, 10)}... not found by the job`);
  assert.match(server.err(), /refused: client without a credential/);
  assert.match(server.err(), /refused: worker without a credential/);
  // The victim's own run is untouched.
  const victimRun = await waitFor('the victim run to be stored', () => storedResults(server.dir, 'victim')[0]);
  assert.equal(readFileSync(join(victimRun.dir, 'artifacts', 'secret.txt'), 'utf8').trim(), VICTIM_SECRET);
});

test('what a job as its user leaves running (a daemon outside its group) is killed before its files are read', { skip }, async () => {
  const server = await startServer(tempDir());
  const pidFile = join(tempDir('builder-pid-'), 'daemon.pid');
  chmodSync(join(pidFile, '..'), 0o777);
  await scheduleJob(server, 'daemon', 'iso-c', `#!/bin/sh\nsetsid sh -c 'echo $$ > ${pidFile}; exec sleep 300' > /dev/null 2>&1 < /dev/null &\nwhile [ ! -s ${pidFile} ]; do sleep 0.05; done\necho started\n`);
  assert.equal((await client(server.remote, ['execute', 'daemon'])).code, 0);
  const w = startWorker(server.remote, 'iso-c', ['--sandbox', 'none', '--job-user', '61004']);
  assert.equal((await w.exited).code, 0, w.err());
  const pid = Number(readFileSync(pidFile, 'utf8'));
  assert.ok(pid > 0);
  await waitFor('the daemon to be gone', () => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z', 5000);
});

test('--local-clients-only refuses TCP clients even on loopback and with no client token; the socket serves them', async () => {
  const run = tempDir('builder-run-');
  const socket = join(run, 'builder.sock');
  const server = await startServer(tempDir(), ['--socket', socket, '--local-clients-only']);
  const tcp = await client(server.remote, ['info']);
  assert.equal(tcp.code, 123);
  assert.match(tcp.err, /client credential refused/);
  assert.match(server.err(), /refused: client over TCP, but clients may only use the local socket/);
  const local = await client(server.remote, ['--socket', socket, 'info']);
  assert.equal(local.code, 0, local.err);
  const tokenFile = join(run, 'client.token');
  writeFileSync(tokenFile, `${CLIENT_TOKEN}\n`, { mode: 0o600 });
  for (const [args, why] of [
    [['--local-clients-only'], /--local-clients-only needs --socket PATH/],
    [['--local-clients-only', '--socket', join(run, 's2'), '--client-token-file', tokenFile], /--local-clients-only and --client-token-file exclude each other/],
  ] as const) {
    const p = spawnProgram('builder-server', ['--port', '0', '--dir', tempDir(), ...args]);
    assert.equal((await p.exited).code, 124, p.err());
    assert.match(p.err(), why);
  }
});

test('two workers on one host cannot share a job user (each kills its job user\'s leftovers); the second exits 124 naming the first', { skip }, async () => {
  const server = await startServer(tempDir());
  const first = startWorker(server.remote, 'iso-d', ['--sandbox', 'none', '--job-user', '61006', '--loop']);
  await waitFor('the first worker to connect', async () => (await clientJson(server.remote, ['info'])).workers.length === 1);
  const second = startWorker(server.remote, 'iso-d', ['--sandbox', 'none', '--job-user', '61006', '--once']);
  const ended = await second.exited;
  assert.equal(ended.code, 124, second.err());
  assert.match(second.err(), new RegExp(`--job-user 61006 \\(uid 61006\\) is used by another builder-worker on this host \\(pid ${first.child.pid}\\)`));
  // The claim goes with its holder.
  await stopChild(first.child);
  await scheduleJob(server, 'other-user', 'iso-d', '#!/bin/sh\nid -u\n');
  assert.equal((await client(server.remote, ['execute', 'other-user'])).code, 0);
  const third = startWorker(server.remote, 'iso-d', ['--sandbox', 'none', '--job-user', '61006', '--once']);
  assert.equal((await third.exited).code, 0, third.err());
  const run = await waitFor('the run to be stored', () => storedResults(server.dir, 'other-user')[0]);
  assert.deepEqual(storedConsole(run.dir), ['61006']);
});
