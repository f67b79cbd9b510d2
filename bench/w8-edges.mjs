// W8 edges of issue 11: resources under load.
//  a) 16 workers each sending 100 MiB of console at once (100-byte lines):
//     the server's peak RSS (VmHWM), against its RSS once started and idle.
//     Console lines are held back at the worker's socket while the disk
//     lags, so memory stays flat whatever the rate.
//  b) `builder-client schedule` of one job while a 100,000-line
//     `schedule --from` is in progress (its lines are being staged into
//     tmp/): the slowest of 5 such answers, against the same command on an
//     idle server.
import { spawn } from 'node:child_process';
import { join, rawClient, memMB, now, readdirSync, resultJobCount, row, spawnProgram, startServer, startWorkers, stop, tempDir, waitFor, writeFileSync, writeJobFiles, client, existsSync } from './lib.mjs';

export async function consoleFlood(quick) {
  const workers = 16;
  const mib = quick ? 10 : 100;
  const dir = tempDir();
  const spool = join(dir, 'spool');
  const server = await startServer(spool, { args: ['--max-console-bytes', String((mib + 1) * 2 ** 20)], nodeArgs: process.env.W7_NODE_ARGS ? process.env.W7_NODE_ARGS.split(' ') : [] });
  await new Promise((r) => setTimeout(r, 1000));
  const idle = memMB(server.pid, 'VmRSS');
  const gate = join(dir, 'gate');
  // Every job waits for the gate, so all 16 pour their console at once.
  const script = `while [ ! -e ${gate} ]; do sleep 0.01; done\nhead -c ${mib * 2 ** 20} /dev/zero | tr '\\0' x | fold -w 99\n`;
  writeJobFiles(spool, workers, script, { prefix: 'flood' });
  const ws = startWorkers(server.remote, workers);
  await waitFor('every run to start', () => existsSync(join(spool, 'running')) && readdirSync(join(spool, 'running')).length === workers, 120_000);
  const t0 = now();
  writeFileSync(gate, '');
  let peak = 0;
  await waitFor('every flood to be stored', () => ((peak = Math.max(peak, memMB(server.pid) ?? 0)), resultJobCount(spool) >= workers), 1_800_000, 200);
  const ms = now() - t0;
  peak = Math.max(peak, memMB(server.pid) ?? 0);
  await Promise.all([...ws, server].map((p) => stop(p)));
  return { idle, peak, ms, mib, workers };
}

export async function scheduleDuringBatch(quick) {
  const lines = quick ? 20_000 : 100_000;
  const dir = tempDir();
  const spool = join(dir, 'spool');
  const server = await startServer(spool);
  // The server's answer time, over a raw connection (a builder-client's own start-up, ~0.5 s here, is W2's business).
  const once = async (name) => {
    const t = now();
    const s = await rawClient(server.port, { type: 'schedule', job: { name, platform: 'bench', script: '#!/bin/sh\ntrue\n', period: 'never' } });
    const reply = await new Promise((resolve, reject) => {
      let buf = '';
      s.on('data', (d) => {
        buf += d;
        const lines = buf.split('\n');
        if (lines.length > 2) resolve(JSON.parse(lines[1]));
      });
      s.once('error', reject);
      s.once('close', () => reject(new Error(`schedule ${name}: closed before the reply`)));
    });
    s.destroy();
    if (reply.type !== 'success') throw new Error(`schedule ${name}: ${JSON.stringify(reply)}`);
    return now() - t;
  };
  const idle = [];
  for (let i = 0; i < 5; i++) idle.push(await once(`idle${i}`));
  const file = join(dir, 'batch.ndjson');
  let text = '';
  for (let i = 0; i < lines; i++) text += JSON.stringify({ name: `batch${i}`, platform: 'bench', script: '#!/bin/sh\ntrue\n', period: 'never' }) + '\n';
  writeFileSync(file, text);
  const t0 = now();
  const batch = spawnProgram('builder-client', ['--remote', server.remote, 'schedule', '--from', file]);
  // In progress: its stage in tmp/ has files.
  const stage = () => readdirSync(join(spool, 'tmp')).find((n) => n.startsWith('batch-'));
  await waitFor('the batch to be staging', () => {
    const s = stage();
    return s && readdirSync(join(spool, 'tmp', s)).length > 100;
  }, 120_000, 5);
  const during = [];
  for (let i = 0; i < 5; i++) {
    if (!stage()) break;
    during.push(await once(`during${i}`));
  }
  const { code } = await batch.exited;
  const batchMs = now() - t0;
  if (code !== 0) throw new Error(`schedule --from exited ${code}: ${batch.err()}`);
  await stop(server);
  return { idle: Math.max(...idle), during: Math.max(...during), n: during.length, batchMs, lines };
}

/** Runs W8 and returns its table rows. */
export async function run({ quick }) {
  const f = await consoleFlood(quick);
  const s = await scheduleDuringBatch(quick);
  return [
    row('W8', `${f.workers} workers x ${f.mib} MiB console at once: server peak RSS`, f.peak, 'MB', {
      baseline: f.idle,
      baselineLabel: 'the server started, idle (VmRSS)',
      goal: '< 150 MB',
      met: (v) => v < 150,
      note: `all stored in ${(f.ms / 1000).toFixed(0)} s`,
    }),
    row('W8', `schedule during a ${s.lines / 1000}k-line schedule --from (slowest of ${s.n})`, s.during, 'ms', {
      baseline: s.idle,
      baselineLabel: 'slowest of 5 on an idle server',
      goal: '< 1000 ms',
      met: (v) => v < 1000,
      note: `the batch took ${(s.batchMs / 1000).toFixed(0)} s`,
    }),
  ];
}
