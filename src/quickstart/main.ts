import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describeOutcome, type Outcome } from '../protocol/types.js';
import { runMain } from '../shared/cli.js';
import { BuilderError } from '../shared/errors.js';
import { hostPlatform } from '../shared/host.js';

// `npm start`: a server on 127.0.0.1:1234 (the client's default remote; a
// free port when 1234 is taken, said so) with its status page on :1235 (or
// a free port), its spool in ./var (kept between starts), one worker for
// this host's platform, the example job scheduled and observed live; then
// everything keeps running until Ctrl-C. --exit-after-run stops once the
// example run is stored (the test of the quick start uses it).

const JOB = 'example';
const PORT = 1234;
const HTTP_PORT = 1235;

function program(name: string): string {
  // This file is bundled as dist/quickstart.cjs, beside the programs.
  return join(dirname(process.argv[1]!), `${name}.cjs`);
}

function start(name: string, args: string[], prefix: string): ChildProcess {
  const child = spawn(process.execPath, [program(name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  createInterface({ input: child.stderr! }).on('line', (l) => process.stderr.write(`${prefix} ${l}\n`));
  return child;
}

/** Runs builder-client; `stream` passes its output through, without its `-- ` header and outcome lines (printed once below). */
function client(remote: string, args: string[], stream = false, quiet = false): Promise<{ code: number; out: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [program('builder-client'), '--remote', remote, ...args], {
      stdio: ['ignore', stream ? 'inherit' : 'pipe', quiet ? 'ignore' : 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (d) => (out += d));
    if (child.stderr) createInterface({ input: child.stderr }).on('line', (l) => (stream && l.startsWith('-- ') ? undefined : process.stderr.write(`${l}\n`)));
    child.once('close', (code) => resolvePromise({ code: code ?? 1, out }));
  });
}

/** `port` when nothing listens on 127.0.0.1:port, else 0 (the server then picks a free one). */
function freeOr0(port: number): Promise<number> {
  return new Promise((r) => {
    const probe = net.createServer();
    probe.once('error', () => r(0));
    probe.listen({ host: '127.0.0.1', port, exclusive: true }, () => probe.close(() => r(port)));
  });
}

async function listening(server: ChildProcess): Promise<{ remote: string; page: string }> {
  let remote = '';
  for await (const line of createInterface({ input: server.stdout! })) {
    const m = / listening (\S+)$/.exec(line);
    if (m) remote = m[1]!;
    const h = / status page on (\S+)$/.exec(line);
    if (h && remote) return { remote, page: h[1]! };
  }
  throw new BuilderError('server_failed', 'builder-server exited before it was listening (see its log lines above)');
}

function newestRun(spool: string, since: number): string | null {
  const dir = join(spool, 'results', JOB);
  if (!existsSync(dir)) return null;
  const runs = readdirSync(dir).filter((id) => statSync(join(dir, id)).mtimeMs >= since);
  return runs[0] ?? null;
}

/** What an earlier start left in the spool: scheduled jobs besides the example, and queued ones. */
function leftOver(spool: string): { scheduled: number; queued: number } {
  const count = (dir: string): number => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).length : 0);
  const queues = join(spool, 'queue');
  const queued = existsSync(queues) ? readdirSync(queues).reduce((n, p) => n + count(join(queues, p)), 0) : 0;
  return { scheduled: count(join(spool, 'schedule')) - (existsSync(join(spool, 'schedule', `${JOB}.json`)) ? 1 : 0), queued };
}

function sayWhereTheSpoolIs(spool: string): void {
  if (!existsSync(spool)) return void console.log(`spool: ${spool} (new; it persists between starts: rm -rf ${spool} for a fresh one)`);
  const { scheduled, queued } = leftOver(spool);
  const jobs = scheduled === 1 ? '1 other scheduled job' : `${scheduled} other scheduled jobs`;
  console.log(`spool: ${spool} (from an earlier start, kept: ${jobs} and ${queued} queued ${queued === 1 ? 'run' : 'runs'} there may run now; rm -rf ${spool} for a fresh one)`);
}

void runMain(async (argv) => {
  const exitAfterRun = argv.includes('--exit-after-run');
  const spool = resolve('var');
  const platform = hostPlatform();
  const startedAt = Date.now() - 1000;
  const children: ChildProcess[] = [];
  const stopAll = () => children.forEach((c) => c.kill('SIGTERM'));
  process.once('SIGINT', stopAll);
  process.once('SIGTERM', stopAll);
  try {
    sayWhereTheSpoolIs(spool);
    const [port, httpPort] = [await freeOr0(PORT), await freeOr0(HTTP_PORT)];
    const server = start('builder-server', ['--ip', '127.0.0.1', '--port', String(port), '--http', `127.0.0.1:${httpPort}`, '--dir', spool], '[server]');
    children.push(server);
    const { remote, page } = await listening(server);
    if (port === PORT) console.log(`server: ${remote} (the client's default remote)`);
    else console.log(`server: ${remote} (port ${PORT} is taken by another program, so this one picked a free port: give the client --remote ${remote} or set BUILDER_REMOTE=${remote})`);
    console.log(`status page: ${page}`);
    children.push(start('builder-worker', [platform, '--remote', remote, '--loop'], '[worker]'));
    console.log(`worker: started for platform ${platform}`);
    // A spool from an earlier npm start may hold the example already.
    await client(remote, ['unschedule', JOB], false, true);
    const script = resolve(dirname(program('builder-client')), '..', 'examples', 'hello.sh');
    const s = await client(remote, ['schedule', JOB, platform, script, '--period', 'never']);
    if (s.code !== 0) throw new BuilderError('schedule_failed', 'could not schedule the example job (see above)');
    await client(remote, ['execute', JOB]);
    let runId: string | null = null;
    for (let i = 0; i < 600 && !runId; i++) {
      const info = JSON.parse((await client(remote, ['--json', 'info'])).out || '{}') as { running?: { name: string; run_id: string }[] };
      runId = info.running?.find((r) => r.name === JOB)?.run_id ?? newestRun(spool, startedAt);
      if (!runId) await new Promise((r) => setTimeout(r, 100));
    }
    if (!runId) throw new BuilderError('no_run', 'the example job did not start within a minute (is the worker connected? see its lines above)');
    console.log(`observing run ${runId} (also on ${page}runs/${runId}/console):`);
    const observed = await client(remote, ['observe', runId], true);
    if (observed.code !== 0) throw new BuilderError('observe_failed', `could not observe run ${runId} (see above)`);
    const resultDir = join(spool, 'results', JOB, runId);
    const result = JSON.parse(readFileSync(join(resultDir, 'result.json'), 'utf8')) as { outcome: Outcome; artifacts: { path: string }[] };
    console.log(`outcome: ${describeOutcome(result.outcome)}`);
    console.log(`artifacts (${result.artifacts.map((a) => a.path).join(', ')}) stored in ${join(resultDir, 'artifacts')}`);
    if (exitAfterRun) return;
    const remoteFlag = port === PORT ? '' : ` --remote ${remote}`;
    console.log(`server and worker keep running; try: node ${program('builder-client')}${remoteFlag} info  (Ctrl-C stops both)`);
    await Promise.all(children.map((c) => new Promise((r) => c.once('close', r))));
  } finally {
    stopAll();
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('close', r)) : null)));
  }
});
