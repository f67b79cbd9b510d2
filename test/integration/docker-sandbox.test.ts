import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { client, clientJson, scheduleJob, spawnProgram, startServer, storedConsole, storedResults, tempDir, waitFor, writeScript } from './harness.js';

// The worker drives a container engine (--sandbox docker). Where a docker
// engine answers, a real container runs the job; where none does (this
// machine outside the deploy harness), that test is skipped with a note.
// A stand-in engine CLI on PATH then shows what the worker asks of the
// engine: the checks at start, one named `run --rm` per job, `kill` on
// cancel and `rm --force` after; the job runs on the host there, so only
// the worker's side is under test.

const TOKEN = 'worker-dock-3f8a1c5e7b9d0246';

function tokenFile(): string {
  const f = join(tempDir('builder-tok-'), 'worker.token');
  writeFileSync(f, `${TOKEN}\n`, { mode: 0o600 });
  return f;
}

const IMAGE = process.env.BUILDER_TEST_DOCKER_IMAGE || 'debian:12';
const dockerWhy = (() => {
  const info = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 20_000 });
  if (info.status !== 0) return 'no docker engine answers `docker info` here (the deploy harness runs this test inside its systemd-nspawn machine)';
  const image = spawnSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore', timeout: 20_000 });
  return image.status === 0 ? null : `docker has no image ${IMAGE} (set BUILDER_TEST_DOCKER_IMAGE)`;
})();

test('a real docker container runs the job: no token, no BUILDER_* but BUILDER_JOB, no route to the server on loopback', { skip: dockerWhy ?? false }, async () => {
  const server = await startServer(tempDir(), ['--worker-token-file', tokenFile()]);
  const tf = tokenFile();
  await scheduleJob(server, 'boxed', 'dock-1', `#!/bin/sh
env > env.txt
cat ${tf} > /dev/null 2>&1 && echo "token file readable" || echo "no token file"
bash -c 'exec 3<>/dev/tcp/127.0.0.1/${server.port}' 2>/dev/null && echo "server reachable" || echo "server unreachable"
echo artifact > out.txt
`);
  assert.equal((await client(server.remote, ['execute', 'boxed'])).code, 0);
  const w = spawnProgram('builder-worker', ['dock-1', '--remote', server.remote, '--sandbox', 'docker', '--image', IMAGE, '--token-file', tf], { env: { BUILDER_TOKEN: TOKEN } });
  assert.equal((await w.exited).code, 0, w.err());
  const stored = await waitFor('the run', () => storedResults(server.dir, 'boxed')[0]);
  assert.deepEqual(stored.result.outcome, { kind: 'exited', code: 0 });
  const said = storedConsole(stored.dir).join('\n');
  assert.match(said, /no token file/);
  assert.match(said, /server unreachable/, 'the bridge network has no route to the server on loopback');
  const env = readFileSync(join(stored.dir, 'artifacts', 'env.txt'), 'utf8');
  assert.ok(!env.includes(TOKEN));
  assert.deepEqual(env.split('\n').filter((l) => l.startsWith('BUILDER_')), ['BUILDER_JOB=boxed']);
  assert.equal(readFileSync(join(stored.dir, 'artifacts', 'out.txt'), 'utf8'), 'artifact\n');
});

/** A stand-in `docker` CLI: logs each call, runs `run`'s command on the host with the volume's dir for /builder-job. */
function fakeEngine(): { bin: string; calls: () => string[] } {
  const bin = tempDir('builder-fake-docker-');
  const log = join(bin, 'calls.log');
  writeScript(bin, 'docker', `#!/bin/sh
echo "$*" >> ${log}
case "$1" in
  info) exit 0 ;;
  image) [ "$3" = "fake:1" ] && exit 0; echo "Error: No such image: $3" >&2; exit 1 ;;
  kill) kill -TERM "$(cat ${bin}/$4.pid)"; exit 0 ;;
  rm) [ -f ${bin}/$3.pid ] && kill -KILL "$(cat ${bin}/$3.pid)" 2>/dev/null; rm -f ${bin}/$3.pid; exit 0 ;;
  run) shift
    while [ $# -gt 0 ]; do
      case "$1" in
        --rm|--init) shift ;;
        --name) name=$2; shift 2 ;;
        --volume) host=\${2%%:*}; shift 2 ;;
        --label|--workdir|--env|--network) shift 2 ;;
        *) break ;;
      esac
    done
    shift # the image
    cd "$host" || exit 125
    script=$(echo "$*" | sed "s|/builder-job|$host|g")
    $script &
    echo $! > ${bin}/$name.pid
    wait $!
    exit $? ;;
esac
exit 125
`);
  return { bin, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) };
}

test('the docker driver checks the engine and image at start, runs one named --rm container per job, kills it through the engine on cancel', async () => {
  const engine = fakeEngine();
  const env = { PATH: `${engine.bin}:${process.env.PATH}`, BUILDER_TOKEN: TOKEN };
  const missing = spawnProgram('builder-worker', ['dock-2', '--remote', '127.0.0.1:1', '--sandbox', 'docker'], { env });
  assert.equal((await missing.exited).code, 124);
  assert.match(missing.err(), /^builder-worker: --sandbox docker: no image dock:2 \(docker pull dock:2, or give --image/m, 'the default image comes from the platform');

  const server = await startServer(tempDir());
  await scheduleJob(server, 'quick', 'dock-2', '#!/bin/sh\necho "token=[$BUILDER_TOKEN]"\necho made > made.txt\n');
  assert.equal((await client(server.remote, ['execute', 'quick'])).code, 0);
  const w = spawnProgram('builder-worker', ['dock-2', '--remote', server.remote, '--sandbox', 'docker', '--image', 'fake:1', '--engine-flags', '--network none', '--loop'], { env });
  const quick = await waitFor('the quick run', () => storedResults(server.dir, 'quick')[0]).catch((e) => { throw new Error(`${e.message}: ${w.err()} ${engine.calls().join(' / ')}`); });
  assert.deepEqual(quick.result.outcome, { kind: 'exited', code: 0 });
  assert.match(storedConsole(quick.dir).join('\n'), /token=\[\]/, 'the engine CLI gets no BUILDER_* variable');
  assert.equal(readFileSync(join(quick.dir, 'artifacts', 'made.txt'), 'utf8'), 'made\n', 'artifacts come from the mounted dir');
  const id = quick.result.run_id as string;
  const calls = engine.calls().slice(2); // after the first worker's two checks
  assert.deepEqual(calls.slice(0, 2), ['info', 'image inspect fake:1']);
  const dir = /--volume (\S+):\/builder-job/.exec(calls[2]!)?.[1];
  assert.equal(calls[2], `run --rm --init --name builder-job-${id} --label builder.run=${id} --volume ${dir}:/builder-job --workdir /builder-job --env BUILDER_JOB=quick --network none fake:1 /builder-job/job.sh`);
  assert.ok(calls.includes(`rm --force builder-job-${id}`), 'the container is removed after the job');
  await waitFor('the job dir to be removed', () => !existsSync(dir!));

  await scheduleJob(server, 'endless', 'dock-2', 'exec sleep 300\n');
  assert.equal((await client(server.remote, ['execute', 'endless'])).code, 0);
  const run = await waitFor('the endless run', async () => (await clientJson(server.remote, ['info'])).running[0]);
  await waitFor('its container', () => engine.calls().some((c) => c.startsWith(`run --rm --init --name builder-job-${run.run_id} `)));
  await clientJson(server.remote, ['cancel', run.run_id]);
  const cancelled = await waitFor('the cancelled run', () => storedResults(server.dir, 'endless')[0]);
  assert.match(cancelled.result.outcome.message, /cancelled by an operator/);
  assert.ok(engine.calls().includes(`kill --signal TERM builder-job-${run.run_id}`), 'cancel goes through the engine');
  assert.ok(engine.calls().some((c) => c.endsWith(`/builder-job/job.sh`) && c.includes(`/bin/sh `)), 'a script without #! runs under /bin/sh');
  w.child.kill('SIGTERM');
  await w.exited;
});
