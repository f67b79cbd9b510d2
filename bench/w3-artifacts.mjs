// W3 artifacts: one run leaving a 1 GiB file. Time from the job's end (its
// last line is `date +%s%N`) to its result.json appearing in results/,
// against `cp` of a file of the same size on the same disk; peak RSS (VmHWM)
// of server and worker.
import { join, memMB, now, resultOf, row, startServer, startWorkers, stop, tempDir, timed, waitFor, writeJobFiles } from './lib.mjs';

const GiB = 1024 ** 3;

const epochMs = () => performance.timeOrigin + now();

/** Runs W3 and returns its table rows. */
export async function run({ quick }) {
  const size = quick ? GiB / 4 : GiB;
  const label = quick ? '256 MiB' : '1 GiB';
  const dir = tempDir();
  const spool = join(dir, 'spool');
  const work = join(dir, 'work');
  await timed('mkdir', [work]);
  const server = await startServer(spool);
  const [worker] = startWorkers(server.remote, 1, undefined, work);
  writeJobFiles(spool, 1, `head -c ${size} /dev/zero > big\ndate +%s%N\n`, { prefix: 'big' });
  let stored = 0;
  const found = await waitFor('the big result', () => {
    const r = resultOf(spool, 'big0');
    if (r) stored = epochMs();
    return r;
  }, 600_000, 10);
  const serverPeak = memMB(server.pid);
  const workerPeak = memMB(worker.pid);
  await Promise.all([worker, server].map((p) => stop(p)));
  const { result, dir: runDir } = found;
  if (result.outcome.kind !== 'exited' || result.outcome.code !== 0) throw new Error(`the big job ended ${JSON.stringify(result.outcome)}`);
  const art = result.artifacts.find((a) => a.path === 'big');
  if (!art || art.size !== size) throw new Error(`the big artifact is missing or has the wrong size: ${JSON.stringify(result.artifacts)}`);
  const lines = (await import('node:fs')).readFileSync(join(runDir, 'console.ndjson'), 'utf8').trim().split('\n');
  const jobEnd = Number(BigInt(JSON.parse(lines.at(-1)).line) / 1_000_000n);
  const toStored = stored - jobEnd;
  // The floor: the same bytes copied once on the same disk (source hot in the page cache, as the job's file is).
  const src = join(dir, 'src');
  await timed('sh', ['-c', `head -c ${size} /dev/zero > ${src}`]);
  const cpMs = await timed('cp', [src, join(dir, 'copy')]);
  return [
    row('W3', `${label} artifact: job end -> result stored`, toStored, 'ms', {
      baseline: cpMs,
      baselineLabel: `cp of ${label} on the same disk`,
      goal: '<= 2x',
      met: (_v, r) => r <= 2,
    }),
    row('W3', `peak RSS server (${label} artifact)`, serverPeak, 'MB', { goal: '< 150 MB', met: (v) => v < 150 }),
    row('W3', `peak RSS worker (${label} artifact)`, workerPeak, 'MB', { goal: '< 150 MB', met: (v) => v < 150 }),
  ];
}
