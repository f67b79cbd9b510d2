// Cost of starting a job's script, as the worker does (src/exec/run-job.ts:
// child_process.spawn of the script file itself, so its #! line picks the
// interpreter, detached into its own process group, stdout/stderr piped),
// against alternatives that keep both: the same from a node with a small
// heap, and from a long-lived small helper (a forked node that spawns on
// request over IPC). Floor: a /bin/sh loop running the script as often.
//   node bench/spawn-cost.mjs [N]      (default 300 spawns per variant)
import { spawn, fork, execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './lib.mjs';

const N = Number(process.argv[3] ?? process.argv[2] ?? 300);

/** One spawn as the worker does it; resolves when the job has exited and its pipes closed. */
function runOnce(script) {
  return new Promise((resolve, reject) => {
    const child = spawn(script, [], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
  });
}

async function inner(mode, script, n) {
  // why ballast: the worker holds its protocol state and buffers; a bigger heap is what a fork would have to copy.
  const ballast = mode === 'ballast' ? Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` })) : null;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await runOnce(script);
  const ms = (performance.now() - t0) / n;
  if (ballast) ballast.length = 0;
  return ms;
}

if (process.argv[2] === '--inner') {
  const [, , , mode, script, n] = process.argv;
  if (mode === 'helper') {
    // The helper: spawns on request, answers when the job is done.
    process.on('message', async (m) => {
      if (m === 'exit') process.exit(0);
      await runOnce(script);
      process.send('done');
    });
  } else inner(mode, script, Number(n)).then((ms) => console.log(ms));
} else {
  const dir = tempDir('builder-spawn-');
  const script = join(dir, 'job.sh');
  writeFileSync(script, '#!/bin/sh\ntrue\n');
  chmodSync(script, 0o755);
  const self = new URL(import.meta.url).pathname;
  const variant = (flags, mode) => Number(execFileSync(process.execPath, [...flags, self, '--inner', mode, script, String(N)], { encoding: 'utf8' }).trim());
  const helper = async () => {
    const h = fork(self, ['--inner', 'helper', script, '0'], { execArgv: ['--max-old-space-size=16', '--max-semi-space-size=1'] });
    const ask = () => new Promise((resolve) => { h.once('message', resolve); h.send('go'); });
    await ask();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await ask();
    const ms = (performance.now() - t0) / N;
    h.send('exit');
    return ms;
  };
  const floor = () => {
    const t0 = performance.now();
    execFileSync('/bin/sh', ['-c', `i=0; while [ $i -lt ${N} ]; do "${script}"; i=$((i+1)); done`]);
    return (performance.now() - t0) / N;
  };
  // Interleaved rounds: the machine's load drifts, so each variant is measured in every round.
  const rows = { 'sh loop (floor)': [], 'spawn, default heap': [], 'spawn, default heap + 200k objects': [], 'spawn, --max-old-space-size=16': [], 'forked small helper over IPC': [] };
  for (let round = 0; round < 3; round++) {
    rows['sh loop (floor)'].push(floor());
    rows['spawn, default heap'].push(variant([], 'plain'));
    rows['spawn, default heap + 200k objects'].push(variant([], 'ballast'));
    rows['spawn, --max-old-space-size=16'].push(variant(['--max-old-space-size=16', '--max-semi-space-size=1'], 'plain'));
    rows['forked small helper over IPC'].push(await helper());
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const base = med(rows['spawn, default heap']);
  console.log(`${N} spawns per variant, 3 interleaved rounds, median ms per job start (node ${process.version}):`);
  for (const [k, v] of Object.entries(rows)) console.log(`  ${k.padEnd(36)} ${med(v).toFixed(2)} ms  (${(med(v) / base).toFixed(2)}x spawn default)  rounds: ${v.map((x) => x.toFixed(2)).join(' ')}`);
}
