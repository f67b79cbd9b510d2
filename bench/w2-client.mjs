// W2 client latency: median wall time of `builder-client info` against a
// server holding 1,000 queued jobs (no workers), against the start-up of a
// bare hello-world (`node -e 'console.log(1)'`: the floor of any program
// built on this node; a SEA binary starts no faster), and the SEA binary's
// own start-up when it is built.
import { client, existsSync, helloWorldMs, join, median, row, startServer, stop, tempDir, timed, waitFor, writeJobFiles, rawInfo, DIST } from './lib.mjs';

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
    ...(await seaStartRows(runs)),
    row('W2', `builder-client info, ${QUEUED} queued (median of ${runs})`, median(ms), 'ms', {
      baseline: hello,
      baselineLabel: "node -e 'console.log(1)'",
      goal: '<= 1.3x',
      met: (_v, r) => r <= 1.3,
    }),
    row('W2', `builder-client --version (start-up only)`, median(versionMs), 'ms', { baseline: hello, baselineLabel: "node -e 'console.log(1)'" }),
  ];
}

/**
 * The shipped binary's start-up: dist/builder-client (a SEA with the pinned
 * Node 24 inside) against `node -e 0` on the Node running the bench (the
 * machine's, Node 20 here). Only when `node build.mjs` has made the SEA.
 */
async function seaStartRows(runs) {
  const sea = join(DIST, 'builder-client');
  if (!existsSync(sea)) return [];
  const seaMs = [];
  const nodeMs = [];
  for (let i = 0; i < runs; i++) {
    seaMs.push(await timed(sea, ['--version']));
    nodeMs.push(await timed(process.execPath, ['-e', '0']));
  }
  return [
    row('W2', 'dist/builder-client --version (SEA, embedded Node 24)', median(seaMs), 'ms', {
      baseline: median(nodeMs),
      baselineLabel: `node -e 0 on ${process.version}`,
    }),
  ];
}
