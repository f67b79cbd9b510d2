import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { runMain } from '../shared/cli.js';
import { BuilderError } from '../shared/errors.js';
import { hostPlatform } from '../shared/host.js';

// `npm start`: a server on 127.0.0.1 with its spool in ./var, one worker for
// this host's platform, the example job scheduled and observed live; then
// both keep running until Ctrl-C. --exit-after-run stops once the example
// run is stored (the test of the quick start uses it).

const JOB = 'example';

function program(name: string): string {
  // This file is bundled as dist/quickstart.cjs, beside the programs.
  return join(dirname(process.argv[1]!), `${name}.cjs`);
}

function start(name: string, args: string[], prefix: string): ChildProcess {
  const child = spawn(process.execPath, [program(name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  createInterface({ input: child.stderr! }).on('line', (l) => process.stderr.write(`${prefix} ${l}\n`));
  return child;
}

function client(remote: string, args: string[], inherit = false, quiet = false): Promise<{ code: number; out: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [program('builder-client'), '--remote', remote, ...args], {
      stdio: ['ignore', inherit ? 'inherit' : 'pipe', quiet ? 'ignore' : 'inherit'],
    });
    let out = '';
    child.stdout?.on('data', (d) => (out += d));
    child.once('close', (code) => resolvePromise({ code: code ?? 1, out }));
  });
}

async function listening(server: ChildProcess): Promise<string> {
  const lines = createInterface({ input: server.stdout! });
  for await (const line of lines) {
    const m = / listening (\S+)$/.exec(line);
    if (m) return m[1]!;
  }
  throw new BuilderError('server_failed', 'builder-server exited before it was listening (see its log lines above)');
}

function newestRun(spool: string, since: number): string | null {
  const dir = join(spool, 'results', JOB);
  if (!existsSync(dir)) return null;
  const runs = readdirSync(dir).filter((id) => statSync(join(dir, id)).mtimeMs >= since);
  return runs[0] ?? null;
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
    const server = start('builder-server', ['--ip', '127.0.0.1', '--port', '0', '--dir', spool], '[server]');
    children.push(server);
    const remote = await listening(server);
    console.log(`server listening on ${remote}, spool in ${spool}`);
    children.push(start('builder-worker', [platform, '--remote', remote, '--loop'], '[worker]'));
    console.log(`worker started for platform ${platform}`);
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
    console.log(`observing run ${runId}:`);
    const observed = await client(remote, ['observe', runId], true);
    if (observed.code !== 0) throw new BuilderError('observe_failed', `could not observe run ${runId} (see above)`);
    const resultDir = join(spool, 'results', JOB, runId);
    const result = JSON.parse(readFileSync(join(resultDir, 'result.json'), 'utf8')) as { outcome: unknown; artifacts: { path: string }[] };
    console.log(`outcome: ${JSON.stringify(result.outcome)}`);
    console.log(`artifacts (${result.artifacts.map((a) => a.path).join(', ')}) stored in ${join(resultDir, 'artifacts')}`);
    if (exitAfterRun) return;
    console.log(`server and worker keep running; try: node ${program('builder-client')} --remote ${remote} info  (Ctrl-C stops both)`);
    await Promise.all(children.map((c) => new Promise((r) => c.once('close', r))));
  } finally {
    stopAll();
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('close', r)) : null)));
  }
});
