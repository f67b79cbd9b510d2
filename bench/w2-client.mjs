// W2 client latency: median wall time of `builder-client info` against a
// server holding 1,000 queued jobs (no workers), against the start-up of a
// bare hello-world (`node -e 'console.log(1)'`: the floor of any program
// built on this node; a SEA binary starts no faster).
import { client, helloWorldMs, join, median, row, startServer, stop, tempDir, waitFor, writeJobFiles, rawInfo } from './lib.mjs';

const RUNS = 30;
const QUEUED = 1000;

/** Runs W2 and returns its table rows. */
export async function run({ quick }) {
  const runs = quick ? 15 : RUNS;
  const spool = join(tempDir(), 'spool');
  writeJobFiles(spool, QUEUED, 'true\n', { direct: true });
  const server = await startServer(spool);
  await waitFor('the queue to load', () => rawInfo(server.port).then((r) => r.queued >= QUEUED), 30_000);
  const ms = [];
  const versionMs = [];
  for (let i = 0; i < runs; i++) {
    const r = await client(server.remote, ['info']);
    if (r.code !== 0) throw new Error(`builder-client info exited ${r.code}: ${r.err}`);
    ms.push(r.ms);
    // The client's own start-up (no connection): splits the figure into start-up and round trip.
    versionMs.push((await client(server.remote, ['--version'])).ms);
  }
  await stop(server);
  const hello = await helloWorldMs(runs);
  return [
    row('W2', `builder-client info, ${QUEUED} queued (median of ${runs})`, median(ms), 'ms', {
      baseline: hello,
      baselineLabel: "node -e 'console.log(1)'",
      goal: '<= 1.3x',
      met: (_v, r) => r <= 1.3,
    }),
    row('W2', `builder-client --version (start-up only)`, median(versionMs), 'ms', { baseline: hello, baselineLabel: "node -e 'console.log(1)'" }),
  ];
}
